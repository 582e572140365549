package io.pvecri.daemon.e2e;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Looks at the real thing from the host: LXC containers under an lxcpath, processes in /proc,
 * cgroup files. What the daemon reports over CRI is checked against these.
 */
public final class Host {
    private static final Duration COMMAND_LIMIT = Duration.ofSeconds(30);

    private Host() {
    }

    /** Outcome of a host command. */
    public record Result(int exitCode, String stdout, String stderr) {
        public Result requireSuccess(List<String> command) {
            if (exitCode != 0) {
                throw new AssertionError("host command " + command + " exited " + exitCode + "; stdout: " + stdout
                        + "; stderr: " + stderr);
            }
            return this;
        }
    }

    /** Runs a host command to completion (bounded) and captures its output. */
    public static Result run(String... command) {
        return run(COMMAND_LIMIT, List.of(command));
    }

    public static Result run(Duration limit, List<String> command) {
        Process process;
        try {
            process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + command, e);
        }
        CompletableFuture<String> out = readAsync(process.getInputStream());
        CompletableFuture<String> err = readAsync(process.getErrorStream());
        try {
            if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new AssertionError("host command " + command + " did not finish within " + limit);
            }
            return new Result(process.exitValue(), out.join(), err.join());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            throw new IllegalStateException("interrupted running " + command, e);
        }
    }

    private static CompletableFuture<String> readAsync(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try (stream) {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "<unreadable: " + e + ">";
            }
        });
    }

    // ---- LXC ------------------------------------------------------------------------------

    /** Names of the LXC containers defined under {@code lxcPath} (running or not). */
    public static List<String> lxcContainers(Path lxcPath) {
        if (!Files.isDirectory(lxcPath)) {
            return List.of();
        }
        List<String> command = List.of("lxc-ls", "-P", lxcPath.toString(), "-1");
        String out = run(COMMAND_LIMIT, command).requireSuccess(command).stdout();
        return out.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    /** LXC state of a container ("RUNNING", "STOPPED", ...), or empty when LXC does not know it. */
    public static Optional<String> lxcState(Path lxcPath, String name) {
        Result r = run(COMMAND_LIMIT, List.of("lxc-info", "-n", name, "-P", lxcPath.toString(), "-sH"));
        String state = r.stdout().strip();
        return r.exitCode() == 0 && !state.isEmpty() ? Optional.of(state) : Optional.empty();
    }

    /** Host PID of the container's init, or empty when it is not running. */
    public static OptionalLong lxcInitPid(Path lxcPath, String name) {
        Result r = run(COMMAND_LIMIT, List.of("lxc-info", "-n", name, "-P", lxcPath.toString(), "-pH"));
        String pid = r.stdout().strip();
        if (r.exitCode() != 0 || pid.isEmpty()) {
            return OptionalLong.empty();
        }
        return OptionalLong.of(Long.parseLong(pid));
    }

    /** Host PID of the init of a container that must be running. */
    public static long requireInitPid(Path lxcPath, String name) {
        return lxcInitPid(lxcPath, name)
                .orElseThrow(() -> new AssertionError("LXC container " + name + " has no init PID (not running?)"));
    }

    /** Best effort: force-stops and destroys one LXC container. Never throws. */
    public static void destroyLxcContainer(Path lxcPath, String name) {
        try {
            run(COMMAND_LIMIT, List.of("lxc-stop", "-k", "-n", name, "-P", lxcPath.toString()));
            run(COMMAND_LIMIT, List.of("lxc-destroy", "-f", "-n", name, "-P", lxcPath.toString()));
        } catch (RuntimeException | AssertionError e) {
            System.err.println("[e2e] could not destroy LXC container " + name + ": " + e);
        }
    }

    // ---- processes and namespaces --------------------------------------------------------

    /** The inode of a process's network namespace, e.g. "net:[4026532281]". */
    public static String netNamespace(long pid) {
        try {
            return Files.readSymbolicLink(Path.of("/proc", Long.toString(pid), "ns", "net")).toString();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static boolean processExists(long pid) {
        return Files.exists(Path.of("/proc", Long.toString(pid)));
    }

    // ---- cgroups ----------------------------------------------------------------------------

    /**
     * The directory of {@code pid}'s cgroup for a controller ("memory", "cpu"), as seen from the
     * host. With cgroup v1 that is the hierarchy that carries the controller; where none does
     * (pure cgroup v2), the unified hierarchy.
     */
    public static Path cgroupDir(long pid, String controller) {
        List<String> lines = readLines(Path.of("/proc", Long.toString(pid), "cgroup"));
        String v1Path = null;
        String v2Path = null;
        for (String line : lines) {
            String[] f = line.split(":", 3);
            if (f.length < 3) {
                continue;
            }
            if (f[0].equals("0") && f[1].isEmpty()) {
                v2Path = f[2];
            } else if (List.of(f[1].split(",")).contains(controller)) {
                v1Path = f[2];
            }
        }
        if (v1Path != null) {
            return resolveInMount(mountOf("cgroup", controller), v1Path);
        }
        if (v2Path != null) {
            return resolveInMount(mountOf("cgroup2", null), v2Path);
        }
        throw new AssertionError("no cgroup for controller " + controller + " in /proc/" + pid + "/cgroup: " + lines);
    }

    /** True when {@code dir} belongs to a cgroup v2 (unified) hierarchy. */
    public static boolean isCgroup2(Path dir) {
        return Files.exists(dir.resolve("cgroup.controllers"));
    }

    /** Reads one cgroup interface file, trimmed. */
    public static String cgroupValue(Path cgroupDir, String file) {
        try {
            return Files.readString(cgroupDir.resolve(file)).strip();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private record Mount(String root, Path mountPoint) {
    }

    private static Mount mountOf(String fsType, String controller) {
        for (String line : readLines(Path.of("/proc/self/mountinfo"))) {
            // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
            int dash = line.indexOf(" - ");
            if (dash < 0) {
                continue;
            }
            String[] pre = line.substring(0, dash).split(" ");
            String[] post = line.substring(dash + 3).split(" ");
            if (post.length < 3 || !post[0].equals(fsType)) {
                continue;
            }
            if (controller != null && !List.of(post[2].split(",")).contains(controller)) {
                continue;
            }
            return new Mount(unescape(pre[3]), Path.of(unescape(pre[4])));
        }
        throw new AssertionError("no " + fsType + " mount" + (controller == null ? "" : " for " + controller)
                + " in /proc/self/mountinfo");
    }

    private static Path resolveInMount(Mount mount, String cgroupPath) {
        String relative = cgroupPath;
        if (!mount.root().equals("/") && relative.startsWith(mount.root())) {
            relative = relative.substring(mount.root().length());
        }
        relative = relative.replaceFirst("^/+", "");
        return relative.isEmpty() ? mount.mountPoint() : mount.mountPoint().resolve(relative);
    }

    /** Mount points at or below {@code dir}, deepest first. */
    public static List<Path> mountsUnder(Path dir) {
        List<Path> result = new ArrayList<>();
        for (String line : readLines(Path.of("/proc/self/mountinfo"))) {
            String[] f = line.split(" ");
            if (f.length > 4) {
                Path mountPoint = Path.of(unescape(f[4]));
                if (mountPoint.startsWith(dir)) {
                    result.add(mountPoint);
                }
            }
        }
        result.sort((a, b) -> Integer.compare(b.getNameCount(), a.getNameCount()));
        return result;
    }

    private static String unescape(String mountinfoField) {
        // mountinfo escapes space, tab, newline and backslash as \ooo
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < mountinfoField.length(); i++) {
            char c = mountinfoField.charAt(i);
            if (c == '\\' && i + 3 < mountinfoField.length()) {
                String octal = mountinfoField.substring(i + 1, i + 4);
                if (octal.matches("[0-7]{3}")) {
                    sb.append((char) Integer.parseInt(octal, 8));
                    i += 3;
                    continue;
                }
            }
            sb.append(c);
        }
        return sb.toString();
    }

    static List<String> readLines(Path file) {
        try {
            return Files.readAllLines(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
