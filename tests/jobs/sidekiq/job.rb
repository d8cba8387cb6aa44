# The real Sidekiq job of tests/jobs/test_sidekiq.py (sidekiq -r ./job.rb, REDIS_URL in the env).
# Each job fails its first run (counted per jid in `mqtui-test:runs`) and succeeds after. DyingJob has no
# retries, so its failure goes straight to the dead set; RetriedJob's goes to the retry set (next try in
# 15 s or more, so mqtui's "retry now" comes first).
require "sidekiq"

module Flaky
  def perform(to)
    runs = Sidekiq.redis { |conn| conn.hincrby("mqtui-test:runs", jid, 1) }
    raise ArgumentError, "first run for #{to} fails" if runs == 1
  end
end

class DyingJob
  include Sidekiq::Worker
  include Flaky
  sidekiq_options retry: 0, backtrace: true
end

class RetriedJob
  include Sidekiq::Worker
  include Flaky
  sidekiq_options retry: 5
end
