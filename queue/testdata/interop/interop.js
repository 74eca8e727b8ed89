// node-resque side of the fleet queue interoperability test.
// Usage: node interop.js <enqueue|inspect|retry> ; REDIS_PORT names the server.
// Prints one JSON document on stdout.
"use strict";
const { Queue } = require("node-resque");

const job = (id) => ({
  id,
  repository: { slug: "svenfuchs/gem-release", url: "https://github.com/svenfuchs/gem-release.git" },
  commit: "8f0daa714530956a44197f1effe924b332241244",
  branch: "master",
  env: ["FOO=bar"],
  script: ["bundle exec rake"],
});

async function main() {
  const mode = process.argv[2];
  const queue = new Queue({
    connection: { host: "127.0.0.1", port: Number(process.env.REDIS_PORT), namespace: "resque" },
  });
  await queue.connect();
  let out = {};
  try {
    if (mode === "enqueue") {
      await queue.enqueue("builds", "Fleet::Build", [job("node-1")]);
      await queue.enqueue("builds", "Fleet::Build", [job("node-2")]);
      await queue.enqueue("builds", "WrongClass", [1, 2]);
      out = { length: await queue.length("builds") };
    } else if (mode === "inspect") {
      out = {
        workers: await queue.workers(),
        workingOn: await queue.allWorkingOn(),
        failedCount: await queue.failedCount(),
        failed: await queue.failed(0, -1),
        stats: await queue.stats(),
      };
    } else if (mode === "retry") {
      const failed = await queue.failed(0, -1);
      const retried = [];
      for (const f of failed) {
        if (f.payload && f.payload.class === "Fleet::Build") {
          await queue.retryAndRemoveFailed(f);
          retried.push(f.payload.args[0].id);
        }
      }
      out = { retried, failedCount: await queue.failedCount(), length: await queue.length("builds") };
    } else {
      throw new Error("unknown mode " + mode);
    }
  } finally {
    await queue.end();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
