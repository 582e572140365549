package io.pvecri.proxmox;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Waits for a PVE task: polls {@code GET …/tasks/{upid}/status} with capped backoff until the task
 * stops or the deadline passes. {@code OK} and {@code WARNINGS: n} are success; any other exit status
 * becomes {@link PveException.TaskFailed} with the tail of the task log. Transient polling failures
 * ({@link PveException.Unavailable}) are tolerated until the deadline: the task runs on regardless.
 */
public final class TaskWaiter {

    private static final System.Logger LOG = System.getLogger(TaskWaiter.class.getName());

    private final TaskApi tasks;
    private final Backoff poll;
    private final int logTail;

    TaskWaiter(TaskApi tasks, Backoff poll, int logTail) {
        this.tasks = Objects.requireNonNull(tasks, "tasks");
        this.poll = Objects.requireNonNull(poll, "poll");
        this.logTail = logTail;
    }

    /**
     * Blocks until the task has finished successfully.
     *
     * @return the final status ({@link TaskState.Ok} or {@link TaskState.Warnings})
     * @throws PveException.TaskFailed  the task ended with an error
     * @throws PveException.TaskTimeout still running at the deadline (it is not stopped)
     * @throws PveException             other failures of the status call (e.g. NotFound for an unknown UPID)
     */
    public TaskStatus await(Upid upid, Duration timeout) {
        Objects.requireNonNull(upid, "upid");
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        PveException.Unavailable lastTransient = null;
        for (int attempt = 0; ; attempt++) {
            try {
                TaskStatus status = tasks.status(upid);
                if (status.state().finished()) {
                    return finish(status, start);
                }
            } catch (PveException.Unavailable e) {
                lastTransient = e;
            }
            long remaining = deadline - System.nanoTime();
            if (remaining <= 0) {
                PveException.TaskTimeout t = new PveException.TaskTimeout(upid, Duration.ofNanos(System.nanoTime() - start));
                if (lastTransient != null) {
                    t.addSuppressed(lastTransient);
                }
                throw t;
            }
            sleep(Duration.ofNanos(Math.min(poll.delay(attempt).toNanos(), remaining)), upid, start);
        }
    }

    private TaskStatus finish(TaskStatus status, long start) {
        long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
        if (status.state().succeeded()) {
            LOG.log(Level.DEBUG, () -> "task " + status.upid() + " ended " + status.state().exitStatus() + " after " + ms + " ms");
            return status;
        }
        List<String> tail;
        try {
            tail = tasks.logTail(status.upid(), logTail);
        } catch (PveException e) {
            tail = List.of("(task log unavailable: " + e.pveMessage() + ")");
        }
        LOG.log(Level.INFO, () -> "task " + status.upid() + " failed after " + ms + " ms: " + status.state().exitStatus());
        throw new PveException.TaskFailed(status.upid(), status.state().exitStatus(), tail);
    }

    private static void sleep(Duration d, Upid upid, long start) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            PveException.TaskTimeout t = new PveException.TaskTimeout(upid, Duration.ofNanos(System.nanoTime() - start));
            t.addSuppressed(e);
            throw t;
        }
    }
}
