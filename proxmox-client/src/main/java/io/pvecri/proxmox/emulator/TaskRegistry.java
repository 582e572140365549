package io.pvecri.proxmox.emulator;

import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Forks and tracks worker tasks ({@code PVE::RESTEnvironment::fork_worker}): the UPID is returned at
 * once, the body runs on its own (virtual) thread, and its outcome lands in the task's last log line.
 */
final class TaskRegistry {

    private static final System.Logger LOG = System.getLogger(TaskRegistry.class.getName());

    /** A worker body; a thrown {@link PveError} or other exception fails the task with its message. */
    @FunctionalInterface
    interface Worker {
        void run(EmuTask task) throws Exception;
    }

    private final Map<String, EmuTask> tasks = new ConcurrentHashMap<>();
    private final AtomicLong pids = new AtomicLong(0x2000);
    private final long pstartBase;
    private final long bootMillis = System.currentTimeMillis();
    private final java.nio.file.Path logDir;

    /** @param logDir where task logs are written as PVE keeps them ({@code <dir>/<X>/<UPID>}), or null */
    TaskRegistry(long pstartBase, java.nio.file.Path logDir) {
        this.pstartBase = pstartBase;
        this.logDir = logDir;
    }

    EmuTask fork(String node, String type, String id, String user, Worker body) {
        long pid = pids.incrementAndGet();
        // pstart: clock ticks (100 Hz) since boot
        long pstart = pstartBase + (System.currentTimeMillis() - bootMillis) / 10;
        EmuTask task = new EmuTask(node, type, id, user, pid, pstart, System.currentTimeMillis() / 1000);
        if (logDir != null) {
            // PVE::UPID: /var/log/pve/tasks/<last hex digit of starttime>/<UPID>
            String hex = String.format("%X", task.starttime);
            task.logTo(logDir.resolve(hex.substring(hex.length() - 1)).resolve(task.upid));
        }
        tasks.put(task.upid, task);
        Thread t = Thread.ofVirtual().name("pve-emulator-task-" + type).unstarted(() -> run(task, body));
        task.attach(t);
        t.start();
        return task;
    }

    private static void run(EmuTask task, Worker body) {
        try {
            body.run(task);
            task.finishOk();
        } catch (InterruptedException e) {
            task.finishError("received interrupt");
        } catch (PveError e) {
            task.finishError(e.pveMessage);
        } catch (Exception e) {
            LOG.log(Level.DEBUG, () -> "task " + task.upid + " failed: " + e);
            task.finishError(e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    EmuTask get(String upid) {
        return tasks.get(upid);
    }

    /** Tasks of a node, newest first. */
    List<EmuTask> list(String node) {
        List<EmuTask> out = new ArrayList<>();
        for (EmuTask t : tasks.values()) {
            if (t.node.equals(node)) {
                out.add(t);
            }
        }
        out.sort(Comparator.comparingLong((EmuTask t) -> t.starttime).thenComparingLong(t -> t.pid).reversed());
        return out;
    }
}
