package io.pvecri.proxmox.emulator;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One emulated worker task: its UPID (formatted like pve-common {@code PVE::UPID::encode}), its log
 * lines and, once stopped, its exit status as {@code PVE::UPID::read_status} derives it from the last
 * log line ({@code TASK OK}, {@code TASK WARNINGS: n}, {@code TASK ERROR: msg}).
 */
final class EmuTask {

    final String node;
    final String type;
    final String id;
    final String user;
    final long pid;
    final long pstart;
    final long starttime;
    final String upid;
    private final List<String> lines = new ArrayList<>();
    private volatile boolean running = true;
    private volatile String exitStatus;
    private volatile long endtime;
    private volatile Thread thread;
    private int warnings;
    private java.nio.file.Path logFile;

    EmuTask(String node, String type, String id, String user, long pid, long pstart, long starttime) {
        this.node = node;
        this.type = type;
        this.id = id;
        this.user = user;
        this.pid = pid;
        this.pstart = pstart;
        this.starttime = starttime;
        this.upid = String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, pid, pstart, starttime, type, id, user);
    }

    /** Appends a log line (a worker's {@code print}). */
    synchronized void log(String line) {
        lines.add(line);
        persist(line);
    }

    /** Logs {@code WARN: msg} and counts it, as PVE's {@code log_warn}. */
    synchronized void warn(String msg) {
        warnings++;
        lines.add("WARN: " + msg);
        persist("WARN: " + msg);
    }

    /** Also writes the log to {@code file} (a state directory's task log). */
    synchronized void logTo(java.nio.file.Path file) {
        this.logFile = file;
        try {
            java.nio.file.Files.createDirectories(file.getParent());
            java.nio.file.Files.writeString(file, "");
        } catch (java.io.IOException e) {
            this.logFile = null;
        }
    }

    private void persist(String line) {
        if (logFile == null) {
            return;
        }
        try {
            java.nio.file.Files.writeString(logFile, line + "\n", java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException e) {
            logFile = null; // the in-memory log stays authoritative
        }
    }

    synchronized List<String> lines() {
        return List.copyOf(lines);
    }

    boolean running() {
        return running;
    }

    String exitStatus() {
        return exitStatus;
    }

    long endtime() {
        return endtime;
    }

    void attach(Thread t) {
        this.thread = t;
    }

    /** {@code DELETE …/tasks/{upid}}: interrupts the worker. */
    void kill() {
        Thread t = thread;
        if (t != null && running) {
            t.interrupt();
        }
    }

    synchronized void finishOk() {
        String status = warnings > 0 ? "WARNINGS: " + warnings : "OK";
        lines.add("TASK " + status);
        persist("TASK " + status);
        end(status);
    }

    synchronized void finishError(String message) {
        // PVE writes the die message with newlines replaced into the last line
        String msg = message.strip().replaceAll("[\\r\\n]+", " ");
        lines.add("TASK ERROR: " + msg);
        persist("TASK ERROR: " + msg);
        end(msg);
    }

    private void end(String status) {
        exitStatus = status;
        endtime = System.currentTimeMillis() / 1000;
        running = false;
    }
}
