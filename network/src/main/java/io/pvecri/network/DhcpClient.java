package io.pvecri.network;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The DHCP client of pods on a DHCP bridge: one {@code busybox udhcpc} per pod, run inside the
 * pod's netns through {@code setsid nsenter --net=<netns>}, with its output in a file and no pipe
 * to the daemon, so it keeps the lease renewed while the daemon restarts.
 *
 * <p>Per pod, under {@code <stateDir>/<podId>/}: {@code udhcpc.pid} (written by udhcpc; its path on
 * the command line identifies the pod's client among all processes), {@code dhcp.lease} (written
 * by the event script on every event: state, address, router, DNS, lease time) and
 * {@code udhcpc.log}. The event script is {@code <stateDir>/udhcpc.script}.
 *
 * <p>A client is recognised by {@code /proc/<pid>/cmdline} (udhcpc, this state dir's script and
 * the pod's pid file), never by its pid alone. {@link #watch} calls the exit handler when a
 * watched client dies on its own; {@link #stop} unwatches first.
 */
final class DhcpClient {
    private static final System.Logger LOG = System.getLogger(DhcpClient.class.getName());
    static final String SCRIPT = "udhcpc.script";
    static final String LEASE_FILE = "dhcp.lease";
    /** Present while the library releases the lease: the script then leaves the address in place (see stop). */
    static final String RELEASE_MARK = "dhcp.lease.release";
    static final String PID_FILE = "udhcpc.pid";
    static final String LOG_FILE = "udhcpc.log";
    static final String IFNAME = InterfaceNames.POD_IFNAME;
    private static final long MAX_LOG_BYTES = 1 << 20;
    private static final Duration RELEASE_WAIT = Duration.ofSeconds(2);
    private static final Duration EXIT_WAIT = Duration.ofSeconds(3);
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");

    /** What a pod's client reported last (the event script's record; {@code time}: when, epoch millis). */
    record Lease(String state, String ip, int prefix, String router, List<String> dns, List<String> searches,
                 long leaseSeconds, String server, long time) {
        /** A usable lease: the last event was bound or renew. */
        boolean bound() {
            return (state.equals("bound") || state.equals("renew")) && ip != null && prefix >= 0;
        }

        DnsConfig dnsConfig() {
            return new DnsConfig(dns, searches, List.of());
        }
    }

    /** Called (on a virtual thread) when a watched client exits without {@link #stop}. */
    interface ExitHandler {
        void exited(String podId, long pid);
    }

    private final NetworkConfig.DhcpSettings settings;
    private final Path stateDir;
    private final Path script;
    private final Duration commandTimeout;
    private final Map<String, Long> watched = new ConcurrentHashMap<>();
    private final Map<String, long[]> restarts = new ConcurrentHashMap<>(); // podId -> {failures, last start millis}
    private volatile ExitHandler exitHandler;
    private volatile boolean scriptCurrent;

    DhcpClient(NetworkConfig.DhcpSettings settings, Path stateDir, Duration commandTimeout) {
        this.settings = settings;
        this.stateDir = stateDir.toAbsolutePath().normalize();
        this.script = this.stateDir.resolve(SCRIPT);
        this.commandTimeout = commandTimeout;
    }

    void onExit(ExitHandler handler) {
        this.exitHandler = handler;
    }

    /** Stops calling the exit handler (the library is closing; the clients keep running). */
    void stopWatching() {
        exitHandler = null;
        watched.clear();
    }

    Path podDir(String podId) {
        return stateDir.resolve(podId);
    }

    /**
     * Starts the pod's client (detached). {@code requestIp}: the address to ask for (the one the
     * pod had, when the client is started again), or null.
     */
    long start(PodRecord rec, String requestIp) throws IOException {
        ensureScript();
        Path dir = podDir(rec.podId());
        Files.createDirectories(dir);
        Files.deleteIfExists(dir.resolve(LEASE_FILE));
        Files.deleteIfExists(dir.resolve(RELEASE_MARK));
        Files.deleteIfExists(dir.resolve(PID_FILE));
        Path log = dir.resolve(LOG_FILE);
        trimLog(log);
        List<String> argv = new ArrayList<>(List.of("setsid", "nsenter", "--net=" + rec.netns(), "busybox", "udhcpc",
                "-f", "-i", IFNAME, "-s", script.toString(), "-p", dir.resolve(PID_FILE).toString(),
                "-t", String.valueOf(settings.retries() + 1), "-T", String.valueOf(settings.discoverInterval()),
                "-A", String.valueOf(settings.discoverInterval()), "-O", "search"));
        if (rec.hostname() != null && WORD.matcher(rec.hostname()).matches()) {
            argv.add("-x");
            argv.add("hostname:" + rec.hostname());
        }
        if (requestIp != null && IpLiterals.parse(requestIp) != null) {
            argv.add("-r");
            argv.add(requestIp);
        }
        ProcessBuilder pb = new ProcessBuilder(argv)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("PVECRI_DHCP_LEASE", dir.resolve(LEASE_FILE).toString());
        Process p = pb.start();
        restarts.compute(rec.podId(), (k, v) -> v == null ? new long[] {0, System.currentTimeMillis()}
                : new long[] {v[0], System.currentTimeMillis()});
        // setsid and nsenter exec, so the child's pid normally becomes udhcpc's; setsid forks when
        // it starts as a process group leader, and then the pid file written by udhcpc tells.
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (isClient(p.pid(), rec.podId())) {
                return p.pid();
            }
            Optional<Long> fromFile = pidFromFile(rec.podId());
            if (fromFile.isPresent()) {
                return fromFile.get();
            }
            if (!p.isAlive() && p.exitValue() != 0) {
                break; // nsenter or busybox failed (a setsid that forked exits 0)
            }
            sleep(5);
        }
        p.destroyForcibly();
        throw new IOException("the DHCP client of pod " + rec.podId() + " did not start: " + logTail(rec.podId()));
    }

    /**
     * Waits up to {@code dhcp.timeout} for the first lease of a client just started.
     *
     * @throws NetworkException.SetupFailed no lease in time, or the client exited
     */
    Lease awaitFirstLease(PodRecord rec, long pid) throws NetworkException.SetupFailed {
        long deadline = System.nanoTime() + settings.timeout().toNanos();
        long checkAlive = 0;
        while (true) {
            Lease l = readLease(rec.podId());
            if (l != null && l.bound()) {
                return l;
            }
            long now = System.nanoTime();
            if (now - checkAlive > 200_000_000L) {
                checkAlive = now;
                if (!isClient(pid, rec.podId())) {
                    throw new NetworkException.SetupFailed("the DHCP client of pod " + rec.podId() + " on bridge " + rec.bridge()
                            + " (MAC " + rec.mac() + ") exited before it got a lease: " + logTail(rec.podId()));
                }
            }
            if (now > deadline) {
                String state = l == null ? "no event" : "last event " + l.state();
                throw new NetworkException.SetupFailed("no DHCP lease for pod " + rec.podId() + " on bridge " + rec.bridge()
                        + " (MAC " + rec.mac() + ") within " + settings.timeout().toSeconds() + "s: "
                        + (settings.retries() + 1) + " DHCPDISCOVERs " + settings.discoverInterval()
                        + "s apart got no usable answer (" + state + "); is a DHCP server serving the LAN of "
                        + rec.bridge() + "? client log: " + logTail(rec.podId()));
            }
            sleep(10);
        }
    }

    /**
     * Stops the pod's client: releases its lease (SIGUSR2, waiting until the release is done),
     * then SIGTERM, then SIGKILL. Also stops a client known only by its pid file. Returns the errors.
     */
    List<String> stop(String podId, long recordedPid) {
        watched.remove(podId);
        restarts.remove(podId);
        Set<Long> pids = new LinkedHashSet<>();
        if (recordedPid > 0 && isClient(recordedPid, podId)) {
            pids.add(recordedPid);
        }
        pidFromFile(podId).ifPresent(pids::add);
        List<String> errors = new ArrayList<>();
        for (long pid : pids) {
            stopOne(podId, pid, true, errors);
        }
        return errors;
    }

    /** Stops one client process of the pod (releasing its lease first when {@code release}); the pod stays watched. */
    List<String> stopProcess(String podId, long pid, boolean release) {
        List<String> errors = new ArrayList<>();
        stopOne(podId, pid, release, errors);
        return errors;
    }

    private void stopOne(String podId, long pid, boolean release, List<String> errors) {
        Lease l = release ? readLease(podId) : null;
        Path mark = podDir(podId).resolve(RELEASE_MARK);
        if (l != null && l.bound()) {
            try {
                // The release is unicast to the server; should the pod still have to resolve the
                // server's MAC, the packet waits in the neighbour queue, which removing the pod's
                // last address (the script's deconfig) would flush. The mark keeps the address.
                Files.writeString(mark, "");
                Exec.Result r = Exec.run(List.of("busybox", "kill", "-USR2", String.valueOf(pid)), null, null, commandTimeout);
                if (r.ok()) {
                    long deadline = System.nanoTime() + RELEASE_WAIT.toNanos();
                    while (System.nanoTime() < deadline && isClient(pid, podId)) {
                        Lease now = readLease(podId);
                        if (now == null || !now.bound()) {
                            break; // released: the script ran deconfig
                        }
                        sleep(5);
                    }
                }
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "network.dhcp_release_failed pod={0}: {1}", podId, e.getMessage());
            }
        }
        try {
            Files.deleteIfExists(mark);
        } catch (IOException ignored) {
            // the pod directory goes with the pod
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !isClient(pid, podId)) {
            return;
        }
        h.get().destroy();
        if (awaitGone(pid, podId, EXIT_WAIT)) {
            return;
        }
        h.get().destroyForcibly();
        if (!awaitGone(pid, podId, EXIT_WAIT)) {
            errors.add("DHCP client " + pid + " of pod " + podId + " does not exit on SIGKILL");
        }
    }

    private boolean awaitGone(long pid, String podId, Duration limit) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < deadline) {
            if (!isClient(pid, podId)) {
                return true;
            }
            sleep(5);
        }
        return !isClient(pid, podId);
    }

    /** Watches a running client: the exit handler hears of its death unless {@link #stop} came first. */
    void watch(String podId, long pid) {
        watched.put(podId, pid);
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty()) {
            Thread.ofVirtual().start(() -> exited(podId, pid));
            return;
        }
        h.get().onExit().thenRun(() -> Thread.ofVirtual().start(() -> exited(podId, pid)));
    }

    private void exited(String podId, long pid) {
        if (!watched.remove(podId, pid)) {
            return; // stopped on purpose, or replaced
        }
        ExitHandler handler = exitHandler;
        if (handler != null) {
            handler.exited(podId, pid);
        }
    }

    /**
     * How long to wait before starting a client that died on its own again: 1s, doubling while it
     * keeps dying within a minute of its start, at most 60s.
     */
    Duration restartDelay(String podId) {
        long[] v = restarts.computeIfAbsent(podId, k -> new long[] {0, 0});
        synchronized (v) {
            if (System.currentTimeMillis() - v[1] > 60_000) {
                v[0] = 0;
            }
            long delay = Math.min(60, 1L << Math.min(v[0], 6));
            v[0]++;
            return Duration.ofSeconds(delay);
        }
    }

    /**
     * True when {@code pid} is this state dir's udhcpc for {@code podId} (busybox itself, not the
     * setsid/nsenter that start it: their command lines hold the same arguments).
     */
    boolean isClient(long pid, String podId) {
        List<String> args = cmdline(pid);
        return isUdhcpc(args) && args.contains(script.toString()) && args.contains(podDir(podId).resolve(PID_FILE).toString());
    }

    private static boolean isUdhcpc(List<String> args) {
        return args.size() > 2 && (args.get(0).equals("busybox") || args.get(0).endsWith("/busybox")) && args.get(1).equals("udhcpc");
    }

    /** Every running client of this state dir: pid to pod id. */
    Map<Long, String> running() {
        Map<Long, String> out = new HashMap<>();
        try (Stream<Path> s = Files.list(Path.of("/proc"))) {
            for (Path p : s.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                long pid = Long.parseLong(name);
                List<String> args = cmdline(pid);
                int i = args.indexOf("-p");
                if (!isUdhcpc(args) || !args.contains(script.toString()) || i < 0 || i + 1 >= args.size()) {
                    continue;
                }
                Path pidFile = Path.of(args.get(i + 1));
                Path dir = pidFile.getParent();
                if (pidFile.getFileName().toString().equals(PID_FILE) && dir != null && stateDir.equals(dir.getParent())) {
                    out.put(pid, dir.getFileName().toString());
                }
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "network.dhcp_scan_failed: {0}", e.getMessage());
        }
        return out;
    }

    /** The pod's lease record, or null when there is none (yet). */
    Lease readLease(String podId) {
        Path f = podDir(podId).resolve(LEASE_FILE);
        List<String> lines;
        long mtime;
        try {
            mtime = Files.getLastModifiedTime(f).toMillis();
            lines = Files.readAllLines(f, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return null;
        }
        Map<String, String> kv = new HashMap<>();
        for (String line : lines) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                kv.putIfAbsent(line.substring(0, eq), line.substring(eq + 1).strip()); // the script's own line comes first
            }
        }
        kv.put("time", String.valueOf(mtime));
        return parseLease(kv);
    }

    /** Lease facts from the script's record; anything malformed is left out. */
    static Lease parseLease(Map<String, String> kv) {
        String state = kv.getOrDefault("state", "");
        String ip = ipOrNull(kv.get("ip"));
        int prefix = -1;
        try {
            prefix = Integer.parseInt(kv.getOrDefault("mask", ""));
            if (prefix < 0 || prefix > 32) {
                prefix = -1;
            }
        } catch (NumberFormatException ignored) {
            // no mask
        }
        String router = null;
        for (String r : words(kv.get("router"))) {
            router = ipOrNull(r);
            if (router != null) {
                break;
            }
        }
        List<String> dns = new ArrayList<>();
        for (String d : words(kv.get("dns"))) {
            if (ipOrNull(d) != null && !dns.contains(d) && dns.size() < 3) {
                dns.add(d);
            }
        }
        List<String> searches = new ArrayList<>();
        List<String> search = words(kv.get("search"));
        for (String s : search.isEmpty() ? words(kv.get("domain")) : search) {
            if (WORD.matcher(s).matches() && !searches.contains(s) && searches.size() < 6) {
                searches.add(s);
            }
        }
        long lease = parseLong(kv.get("lease"));
        long time = parseLong(kv.get("time"));
        return new Lease(state, ip, prefix, router, List.copyOf(dns), List.copyOf(searches), lease,
                ipOrNull(kv.get("serverid")), time);
    }

    /** The last lines of the pod's client log, on one line. */
    String logTail(String podId) {
        Path f = podDir(podId).resolve(LOG_FILE);
        try {
            List<String> lines = Files.readAllLines(f, StandardCharsets.UTF_8);
            String tail = String.join(" | ", lines.subList(Math.max(0, lines.size() - 4), lines.size())).strip();
            return tail.isEmpty() ? "(no output)" : tail;
        } catch (IOException e) {
            return "(no output)";
        }
    }

    private Optional<Long> pidFromFile(String podId) {
        try {
            long pid = Long.parseLong(Files.readString(podDir(podId).resolve(PID_FILE)).strip());
            return isClient(pid, podId) ? Optional.of(pid) : Optional.empty();
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private static List<String> cmdline(long pid) {
        try {
            byte[] b = Files.readAllBytes(Path.of("/proc", String.valueOf(pid), "cmdline"));
            List<String> out = new ArrayList<>();
            int start = 0;
            for (int i = 0; i < b.length; i++) {
                if (b[i] == 0) {
                    out.add(new String(b, start, i - start, StandardCharsets.UTF_8));
                    start = i + 1;
                }
            }
            return out;
        } catch (IOException e) {
            return List.of();
        }
    }

    private synchronized void ensureScript() throws IOException {
        byte[] want = SCRIPT_TEXT.getBytes(StandardCharsets.UTF_8);
        if (scriptCurrent && Files.isExecutable(script)) {
            return;
        }
        if (!Files.isRegularFile(script) || !java.util.Arrays.equals(Files.readAllBytes(script), want)) {
            Files.createDirectories(stateDir);
            Path tmp = stateDir.resolve("." + SCRIPT + ".tmp");
            Files.write(tmp, want);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.move(tmp, script, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        }
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        scriptCurrent = true;
    }

    private static void trimLog(Path log) {
        try {
            if (Files.size(log) > MAX_LOG_BYTES) {
                try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "rw")) {
                    f.setLength(0); // the client appends (O_APPEND): it goes on at the new end
                }
            }
        } catch (IOException ignored) {
            // no log yet
        }
    }

    /** Keeps a running client's log small (called from reconcile and check). */
    void trimLog(String podId) {
        trimLog(podDir(podId).resolve(LOG_FILE));
    }

    private static String ipOrNull(String s) {
        return s != null && !s.isBlank() && IpLiterals.parse(s.strip()) != null && !s.contains(":") ? s.strip() : null;
    }

    private static List<String> words(String s) {
        return s == null || s.isBlank() ? List.of() : List.of(s.strip().split("\\s+"));
    }

    private static long parseLong(String s) {
        try {
            return s == null ? 0 : Long.parseLong(s.strip());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * The event script (busybox udhcpc -s). Runs inside the pod's netns with udhcpc's environment:
     * applies the lease to the interface and records the event in {@code $PVECRI_DHCP_LEASE}.
     * Values from the DHCP server are reduced to [A-Za-z0-9.:_ -] before they are written.
     */
    static final String SCRIPT_TEXT = """
            #!/bin/sh
            # Written by pve-cri (network library): event script of the pods' DHCP clients
            # (busybox udhcpc -s). Runs inside the pod's network namespace, applies the lease to
            # the interface and records the event in $PVECRI_DHCP_LEASE for the library.
            PATH=/usr/sbin:/usr/bin:/sbin:/bin
            export PATH
            out="$PVECRI_DHCP_LEASE"
            event="$1"
            [ -n "$out" ] && [ -n "$interface" ] || exit 1

            # ip, mask, router, dns, lease and serverid are formatted by udhcpc from binary fields;
            # domain and search are the server's strings: reduced to [A-Za-z0-9.:_ -], written last
            # (the library takes the first line of each key).
            record() {
                printf 'state=%s\\nip=%s\\nmask=%s\\nrouter=%s\\ndns=%s\\nlease=%s\\nserverid=%s\\n' \\
                    "$event" "$ip" "$mask" "$router" "$dns" "$lease" "$serverid" > "$out.tmp" || exit 1
                printf 'domain=%s\\nsearch=%s' "$domain" "$search" | tr -c 'A-Za-z0-9.:_ =\\n-' '_' >> "$out.tmp"
                mv -f "$out.tmp" "$out"
            }

            case "$event" in
                deconfig)
                    if [ -e "$out.release" ]; then
                        # the library is releasing the lease before it removes the pod: the
                        # release packet may still wait for ARP, keep the address it needs
                        event=released
                        record
                        exit 0
                    fi
                    if [ -e "$out" ]; then
                        # the lease is lost (at start there is no record yet: a restarted client
                        # leaves the pod's address alone until it has the new lease)
                        ip -4 addr flush dev "$interface" scope global
                    fi
                    record
                    ;;
                bound|renew)
                    ip -4 -o addr show dev "$interface" scope global | while read -r _ _ _ addr _; do
                        [ "$addr" = "$ip/$mask" ] || ip addr del "$addr" dev "$interface"
                    done
                    if ! ip addr replace "$ip/$mask" dev "$interface" broadcast "${broadcast:-+}"; then
                        event=applyfail
                        record
                        exit 1
                    fi
                    if [ -n "$router" ]; then
                        set -- $router
                        ip route replace default via "$1" dev "$interface"
                    fi
                    record
                    ;;
                *)
                    record
                    ;;
            esac
            exit 0
            """;
}
