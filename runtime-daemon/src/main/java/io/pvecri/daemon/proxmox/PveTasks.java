package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.util.Log;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveException;
import io.pvecri.proxmox.TaskStatus;
import io.pvecri.proxmox.Upid;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

/** Waits for PVE tasks with the configured deadline, logs each one and counts them. */
final class PveTasks {
    private static final Log LOG = Log.get(PveTasks.class);

    private final PveClient client;
    private final Duration timeout;
    private final AtomicLong count = new AtomicLong();

    PveTasks(PveClient client, Duration timeout) {
        this.client = client;
        this.timeout = timeout;
    }

    /** Waits for the task to end; a failed task throws {@link PveException.TaskFailed} with its log tail. */
    TaskStatus await(String what, Upid upid) {
        count.incrementAndGet();
        long started = System.nanoTime();
        try {
            TaskStatus st = client.taskWaiter().await(upid, timeout);
            LOG.debug("proxmox.task_done", "what", what, "upid", upid, "ms", (System.nanoTime() - started) / 1_000_000);
            return st;
        } catch (PveException e) {
            LOG.warn("proxmox.task_failed", "what", what, "upid", upid, "error", PveFailures.describe(e));
            throw e;
        }
    }

    /** As {@link #await}, but a failure is only logged. */
    void awaitQuietly(String what, Upid upid) {
        try {
            await(what, upid);
        } catch (PveException e) {
            // logged by await
        }
    }

    /** Tasks waited for since start (for benchmarks). */
    long count() {
        return count.get();
    }
}
