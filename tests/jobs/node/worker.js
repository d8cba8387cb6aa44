// The real BullMQ worker of tests/jobs/test_bullmq.py: node worker.js QUEUE (REDIS_URL in the env).
// Each job fails its first run (counted per job id in `mqtui-test:runs:<queue>`) and succeeds after, so a
// job lands in BullMQ's failed set by BullMQ's own rules and succeeds once retried.
const { Worker } = require("bullmq");
const IORedis = require("ioredis");

const queue = process.argv[2];
const url = process.env.REDIS_URL;
const counter = new IORedis(url);
const runs = `mqtui-test:runs:${queue}`;

const worker = new Worker(
  queue,
  async (job) => {
    const run = await counter.hincrby(runs, job.id, 1);
    if (run === 1) {
      throw new Error(`first run of ${job.name} fails`);
    }
    return { sent: job.data.to };
  },
  { connection: new IORedis(url, { maxRetriesPerRequest: null }), name: "node-test-worker" },
);
worker.on("ready", () => console.log("ready"));

async function stop() {
  await worker.close();
  await counter.quit();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
