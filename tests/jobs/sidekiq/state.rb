# Sidekiq's own view for tests/jobs/test_sidekiq.py, one JSON line: ruby -r ./job.rb state.rb [enqueue]
require "json"
require "sidekiq/api"

if ARGV.first == "enqueue"
  jids = [DyingJob.perform_async("a@example.com"), DyingJob.perform_async("b@example.com"),
          RetriedJob.perform_async("c@example.com")]
  puts JSON.generate(jids)
else
  puts JSON.generate(
    dead: Sidekiq::DeadSet.new.size, retry: Sidekiq::RetrySet.new.size,
    enqueued: Sidekiq::Queue.new("default").size, busy: Sidekiq::Workers.new.size,
    runs: Sidekiq.redis { |conn| conn.hgetall("mqtui-test:runs") },
  )
end
