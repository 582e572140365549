package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Runs CTs with local LXC in the emulator's lxcpath ({@code <state>/var/lib/lxc}), as a PVE node's
 * {@code vm_start} / {@code vm_stop}, {@code pve-container@.service} and the container hooks do: the
 * generated config, the rootfs volume mounted at {@code <lxcpath>/<vmid>/rootfs} (a bind mount, or an
 * overlay for linked clones), passthrough device nodes, {@code lxc-start -d} (the service's
 * {@code lxc-start -F}, daemonized), {@code lxc-stop}, {@code lxc-info}, and the mounts undone once the
 * CT has stopped (PVE's post-stop hook).
 */
final class LxcRunner {

    private static final System.Logger LOG = System.getLogger(LxcRunner.class.getName());
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(60);
    private static final Pattern LOG_LINE = Pattern.compile("^\\s*lxc-\\S+\\s+\\S+\\s+\\d+\\.\\d+\\s+(\\S+)\\s+(.*)$");

    /** What LXC says about a CT: running (any state but STOPPED), the init PID, when it started. */
    record Observed(boolean running, long pid, long startedAtMillis, long memUsed) {
        static final Observed STOPPED = new Observed(false, 0, 0, -1);
    }

    private final Path lxcPath;
    private final DiskVolumes volumes;
    private final HostCgroups host;
    private final Random random = new Random();

    LxcRunner(Path lxcPath, DiskVolumes volumes, HostCgroups host) {
        this.lxcPath = lxcPath;
        this.volumes = volumes;
        this.host = host;
    }

    Path dir(int vmid) {
        return lxcPath.resolve(Integer.toString(vmid));
    }

    Path rootfs(int vmid) {
        return dir(vmid).resolve("rootfs");
    }

    // ---- start ----------------------------------------------------------------------------------------

    /** {@code vm_start} for a loaded, checked CT; the caller holds its config flock. */
    void start(EmuTask t, GuestState g) {
        int vmid = g.vmid;
        Map<String, String> conf;
        List<Map.Entry<String, String>> raw;
        synchronized (g) {
            conf = Map.copyOf(g.config);
            raw = g.rawLxc();
            g.rawWarnings().forEach(t::log);
        }
        Path dir = dir(vmid);
        Path log = dir.resolve("lxc.log");
        try {
            Files.createDirectories(rootfs(vmid));
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            // the pre-start hook's "umount --recursive $rootdir" (e.g. after pct mount)
            Mounts.unmount(dir);
            DiskVolumes.deleteTree(dir.resolve("passthrough"));
            boolean unprivileged = "1".equals(conf.get("unprivileged"));
            List<String> lines = LxcConfigGenerator.generate(new LxcConfigGenerator.Inputs(vmid, conf, raw, dir, host,
                    volumes::mountSource, LxcRunner::deviceNumber, random));
            Files.writeString(dir.resolve("config"), String.join("\n", lines) + "\n");
            devices(dir, conf, unprivileged);
            String rootfsVolid = conf.get("rootfs").split(",")[0];
            if (DiskVolumes.parse(rootfsVolid).isEmpty()) {
                throw PveError.die("emulator: rootfs '" + rootfsVolid + "' is not a volume on a zfspool storage");
            }
            volumes.mount(rootfsVolid, rootfs(vmid));
            Files.deleteIfExists(log);
        } catch (IOException e) {
            cleanup(vmid);
            throw PveError.die("unable to prepare CT " + vmid + ": " + e);
        } catch (RuntimeException e) {
            cleanup(vmid);
            throw e;
        }
        List<String> cmd = new ArrayList<>(List.of("lxc-start", "-d", "-n", Integer.toString(vmid), "-P", lxcPath.toString(),
                "-o", log.toString()));
        if ("1".equals(conf.get("debug"))) {
            cmd.addAll(List.of("-l", "DEBUG"));
        }
        Exec.Result r = Exec.run(cmd, TOOL_TIMEOUT);
        if (!r.ok()) {
            // print_ct_stderr_log: LXC's errors into the task log, then PVE's one-line error
            errorLines(log, r).forEach(t::log);
            stopQuietly(vmid);
            cleanup(vmid);
            LOG.log(Level.INFO, () -> "emulator: CT " + vmid + " failed to start: " + r.err().strip());
            throw PveError.die("startup for container '" + vmid + "' failed");
        }
        LOG.log(Level.DEBUG, () -> "emulator: CT " + vmid + " started");
    }

    private static List<String> errorLines(Path log, Exec.Result r) {
        List<String> out = new ArrayList<>();
        try {
            if (Files.exists(log)) {
                for (String line : Files.readAllLines(log)) {
                    Matcher m = LOG_LINE.matcher(line);
                    if (m.matches() && (m.group(1).equals("ERROR") || m.group(1).equals("WARN"))) {
                        out.add(m.group(2));
                    }
                }
            }
        } catch (IOException e) {
            out.add("cannot read " + log + ": " + e.getMessage());
        }
        if (out.isEmpty()) {
            r.err().lines().filter(l -> !l.isBlank()).forEach(out::add);
        }
        return out.size() > 30 ? out.subList(out.size() - 30, out.size()) : out;
    }

    /**
     * {@code create_passthrough_device_node}: the node under {@code <lxcdir>/passthrough}, with the
     * configured mode (0660) and owner mapped into the CT (uid/gid 0 → 100000 for unprivileged CTs).
     */
    private static void devices(Path dir, Map<String, String> conf, boolean unprivileged) throws IOException {
        for (Map.Entry<String, String> e : conf.entrySet()) {
            if (!e.getKey().matches("dev\\d+")) {
                continue;
            }
            Map<String, String> d = LxcConfigGenerator.propertyString(e.getValue(), "path");
            String path = d.get("path");
            LxcConfigGenerator.DeviceNumber n = deviceNumber(path);
            Path node = dir.resolve("passthrough").resolve(path.substring(1));
            Files.createDirectories(node.getParent());
            String mode = d.getOrDefault("mode", "0660");
            Exec.check(List.of("mknod", "-m", mode, node.toString(), String.valueOf(n.type()), Long.toString(n.major()),
                    Long.toString(n.minor())), TOOL_TIMEOUT);
            int uid = Integer.parseInt(d.getOrDefault("uid", "0")) + (unprivileged ? 100_000 : 0);
            int gid = Integer.parseInt(d.getOrDefault("gid", "0")) + (unprivileged ? 100_000 : 0);
            Files.setAttribute(node, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(node, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
        }
    }

    static LxcConfigGenerator.DeviceNumber deviceNumber(String path) {
        Path p = Path.of(path);
        try {
            int mode = (int) Files.getAttribute(p, "unix:mode");
            long rdev = (long) Files.getAttribute(p, "unix:rdev");
            int type = mode & 0170000;
            if (type != 0020000 && type != 0060000) {
                throw PveError.die("Could not get mode or device ID of " + path);
            }
            long major = ((rdev >>> 8) & 0xfff) | ((rdev >>> 32) & ~0xfffL);
            long minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xffL);
            return new LxcConfigGenerator.DeviceNumber(type == 0060000 ? 'b' : 'c', major, minor);
        } catch (IOException e) {
            throw PveError.die("Could not get mode or device ID of " + path);
        }
    }

    // ---- state ----------------------------------------------------------------------------------------

    /** {@code lxc-info -s -p}; a CT without a generated config is stopped. */
    Observed observe(int vmid) {
        if (!Files.exists(dir(vmid).resolve("config"))) {
            return Observed.STOPPED;
        }
        Exec.Result r = Exec.run(List.of("lxc-info", "-n", Integer.toString(vmid), "-P", lxcPath.toString(), "-s", "-p"), TOOL_TIMEOUT);
        String state = "";
        long pid = 0;
        for (String line : r.out().lines().toList()) {
            if (line.startsWith("State:")) {
                state = line.substring(6).strip();
            } else if (line.startsWith("PID:")) {
                pid = Long.parseLong(line.substring(4).strip());
            }
        }
        if (state.isEmpty() || state.equals("STOPPED")) {
            return Observed.STOPPED;
        }
        return new Observed(true, pid, startedAt(pid), memoryUsed(pid));
    }

    private static long startedAt(long pid) {
        if (pid <= 0) {
            return System.currentTimeMillis();
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            long ticks = Long.parseLong(f[19]); // field 22: starttime
            long btime = 0;
            for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                if (line.startsWith("btime ")) {
                    btime = Long.parseLong(line.substring(6).strip());
                }
            }
            return btime * 1000 + ticks * 10; // USER_HZ 100
        } catch (IOException | RuntimeException e) {
            return System.currentTimeMillis();
        }
    }

    private long memoryUsed(long pid) {
        if (pid <= 0) {
            return -1;
        }
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length < 3) {
                    continue;
                }
                String rel = f[2].startsWith("/") ? f[2].substring(1) : f[2];
                if (List.of(f[1].split(",")).contains("memory") && host.v1().containsKey("memory")) {
                    return Long.parseLong(Files.readString(host.v1().get("memory").resolve(rel).resolve("memory.usage_in_bytes")).strip());
                }
                if (f[0].equals("0") && host.version("memory") == HostCgroups.Version.V2 && host.v2Mount().isPresent()) {
                    return Long.parseLong(Files.readString(host.v2Mount().get().resolve(rel).resolve("memory.current")).strip());
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }

    // ---- stop -----------------------------------------------------------------------------------------

    /** {@code vm_stop($vmid, 1)}: {@code lxc-stop --kill}, then the post-stop cleanup. */
    void kill(int vmid) {
        Exec.Result r = Exec.run(List.of("lxc-stop", "-n", Integer.toString(vmid), "-P", lxcPath.toString(), "--kill"), TOOL_TIMEOUT);
        if (!r.ok() && observe(vmid).running()) {
            throw PveError.die(r.failure());
        }
        cleanup(vmid);
    }

    /**
     * {@code vm_stop($vmid, 0, $timeout, $forceStop)}: {@code lxc-stop [--nokill] --timeout T}; a CT still
     * running afterwards fails with {@code container did not stop}.
     */
    void shutdown(EmuTask t, int vmid, int timeout, boolean force) {
        List<String> cmd = new ArrayList<>(List.of("lxc-stop", "-n", Integer.toString(vmid), "-P", lxcPath.toString()));
        if (!force) {
            cmd.add("--nokill");
        }
        cmd.addAll(List.of("--timeout", Integer.toString(timeout)));
        Exec.Result r = Exec.run(cmd, Duration.ofSeconds(timeout + 5L));
        if (!r.ok()) {
            t.log(r.failure());
        }
        if (observe(vmid).running()) {
            throw PveError.die("container did not stop");
        }
        cleanup(vmid);
    }

    private void stopQuietly(int vmid) {
        Exec.run(List.of("lxc-stop", "-n", Integer.toString(vmid), "-P", lxcPath.toString(), "--kill"), TOOL_TIMEOUT);
    }

    /** The post-stop hook's work: the rootfs (and anything below the CT's lxc dir) unmounted, device nodes gone. */
    void cleanup(int vmid) {
        Path dir = dir(vmid);
        if (!Files.isDirectory(dir)) {
            return;
        }
        Mounts.unmount(dir);
        DiskVolumes.deleteTree(dir.resolve("passthrough"));
    }

    /** True when the rootfs of a CT is still mounted (a CT whose init has exited, not yet noticed). */
    boolean mounted(int vmid) {
        return !Mounts.below(dir(vmid)).isEmpty();
    }

    /** {@code update_lxc_config} of a template: the generated config goes. */
    void removeConfig(int vmid) {
        try {
            Files.deleteIfExists(dir(vmid).resolve("config"));
        } catch (IOException e) {
            throw PveError.die("cannot remove " + dir(vmid).resolve("config") + ": " + e.getMessage());
        }
    }

    /** {@code destroy_lxc_container}: the CT's lxc dir goes (after cleanup). */
    void removeAll(int vmid) {
        cleanup(vmid);
        DiskVolumes.deleteTree(dir(vmid));
    }

    Optional<Path> logFile(int vmid) {
        Path p = dir(vmid).resolve("lxc.log");
        return Files.exists(p) ? Optional.of(p) : Optional.empty();
    }
}
