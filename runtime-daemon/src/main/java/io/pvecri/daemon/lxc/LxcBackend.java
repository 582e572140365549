package io.pvecri.daemon.lxc;

import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.Log;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The embedded default backend: LXC on this host, driven through the lxc-* tools with an
 * lxcpath of pve-cri's own. Each container is {@code <lxcpath>/<id>/config}; LXC's monitor
 * daemonizes, so containers keep running while pve-cri is restarted.
 */
public final class LxcBackend implements ContainerBackend {
    private static final Log LOG = Log.get(LxcBackend.class);
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(30);
    private static final List<String> TOOLS = List.of("lxc-start", "lxc-stop", "lxc-info", "lxc-attach");

    private final Path lxcPath;
    private final String logLevel;
    private final LxcConfigWriter writer;

    public LxcBackend(Path lxcPath, String logLevel) {
        this.lxcPath = lxcPath;
        this.logLevel = logLevel;
        this.writer = new LxcConfigWriter(Files.exists(Path.of("/sys/kernel/security/apparmor")));
    }

    @Override
    public String name() {
        return "lxc";
    }

    @Override
    public List<String> readinessProblems() {
        List<String> problems = new ArrayList<>();
        for (String tool : TOOLS) {
            if (Stream.of("/usr/bin", "/usr/sbin", "/bin", "/usr/local/bin").noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
                problems.add(tool + " not found: install LXC (apt-get install lxc)");
            }
        }
        if (!Files.isDirectory(lxcPath) || !Files.isWritable(lxcPath)) {
            problems.add("lxcpath " + lxcPath + " is not a writable directory");
        }
        return problems;
    }

    @Override
    public void create(LaunchSpec spec) throws IOException {
        Path dir = lxcPath.resolve(spec.id());
        Files.createDirectories(dir);
        Files.write(dir.resolve("config"), (String.join("\n", writer.lines(spec)) + "\n").getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public InitProcess start(String id) throws IOException {
        Path dir = lxcPath.resolve(id);
        Path log = dir.resolve("lxc.log");
        Path pidFile = dir.resolve("init.pid");
        Files.deleteIfExists(pidFile);
        // -p writes the init PID before lxc-start returns, so even a process that exits at once
        // has a known PID (lxc-info would race with it).
        Command.Result r = Command.run(List.of("lxc-start", "-n", id, "-P", lxcPath.toString(), "-d",
                "-p", pidFile.toString(), "-o", log.toString(), "-l", logLevel), TOOL_TIMEOUT);
        if (!r.ok()) {
            throw new IOException(r.describe() + lastLines(log));
        }
        String monitor = Files.exists(pidFile) ? Files.readString(pidFile).strip() : "";
        if (monitor.isEmpty()) {
            throw new IOException("container " + id + " started but LXC wrote no monitor PID to " + pidFile + lastLines(log));
        }
        return InitProcess.of(initOf(id, Long.parseLong(monitor)));
    }

    /**
     * The container's init is the only child of LXC's monitor. A container whose process has
     * already exited has none; then 0 is returned and the shim's status file tells the story.
     */
    private long initOf(String id, long monitorPid) throws IOException {
        Path children = Path.of("/proc", Long.toString(monitorPid), "task", Long.toString(monitorPid), "children");
        try {
            String kids = Files.readString(children).strip();
            if (!kids.isEmpty()) {
                return Long.parseLong(kids.split("\\s+")[0]);
            }
        } catch (IOException | NumberFormatException e) {
            // The monitor is gone: the container has already stopped.
        }
        Command.Result info = Command.run(List.of("lxc-info", "-n", id, "-P", lxcPath.toString(), "-pH"), TOOL_TIMEOUT);
        String pid = info.out().strip();
        return info.ok() && !pid.isEmpty() ? Long.parseLong(pid) : 0;
    }

    @Override
    public void forceStop(String id) throws IOException {
        if (!Files.exists(lxcPath.resolve(id).resolve("config"))) {
            return;
        }
        Command.Result r = Command.run(List.of("lxc-stop", "-n", id, "-P", lxcPath.toString(), "-k"), TOOL_TIMEOUT);
        // Exit 2 means "not running", which is what we want.
        if (!r.ok() && r.exitCode() != 2 && !r.err().contains("not running")) {
            throw new IOException(r.describe());
        }
    }

    @Override
    public void destroy(String id) throws IOException {
        Path dir = lxcPath.resolve(id);
        if (!Files.exists(dir)) {
            return;
        }
        forceStop(id);
        FileTrees.deleteRetrying(dir);
        LOG.debug("lxc.destroyed", "id", id);
    }

    @Override
    public List<String> attachCommand(String id) {
        return List.of("lxc-attach", "-n", id, "-P", lxcPath.toString());
    }

    @Override
    public Set<String> list() throws IOException {
        if (!Files.isDirectory(lxcPath)) {
            return Set.of();
        }
        try (Stream<Path> dirs = Files.list(lxcPath)) {
            return dirs.filter(d -> Files.exists(d.resolve("config")))
                    .map(d -> d.getFileName().toString())
                    .collect(Collectors.toSet());
        }
    }

    private static String lastLines(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return "; lxc log: " + String.join(" | ", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "";
        }
    }
}
