package io.pvecri.network;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The network of pod sandboxes: the one entry point of the library.
 *
 * <p>Bridge mode (default) puts each pod on a Linux bridge through a veth pair, with an address
 * from the library's IPAM, hostPort DNAT and anti-spoofing in its own nftables tables, and
 * isolation groups on their own bridges. CNI mode runs the standard plugins of the first valid
 * config in the CNI config dir. Both write the pod's resolv.conf and hosts under
 * {@code <stateDir>/<podId>/}.
 *
 * <p>Thread-safe: calls for different pods run in parallel, calls for the same pod one after
 * the other. Every host command runs in {@link NetworkConfig#hostNetns()} (the real host when
 * null). State (leases, pod records) is persisted under {@code stateDir}, written atomically.
 */
public final class PodNetworks implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(PodNetworks.class.getName());
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,252}");
    private static final Pattern HOSTNAME = Pattern.compile("[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?");

    private final NetworkConfig cfg;
    private final Path stateDir;
    private final PodRecordStore records;
    private final LeaseStore leases;
    private final NetworkBackend backend;
    private final HostTools host;
    private final DnsFiles dnsFiles;
    private final NetworkListener listener;
    private final Clock clock;
    private final Map<String, ReentrantLock> podLocks = new ConcurrentHashMap<>();
    private final Map<String, NetworkBackend> otherBackends = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private PodNetworks(NetworkConfig cfg, Path stateDir, PodRecordStore records, LeaseStore leases, NetworkBackend backend,
                        HostTools host, NetworkListener listener, Clock clock) {
        this.cfg = cfg;
        this.stateDir = stateDir;
        this.records = records;
        this.leases = leases;
        this.backend = backend;
        this.host = host;
        this.dnsFiles = new DnsFiles(cfg.dns());
        this.listener = listener;
        this.clock = clock;
    }

    /** Opens the library on {@code stateDir} (created if missing). Loads leases and pod records; creates nothing on the host. */
    public static PodNetworks open(NetworkConfig cfg, Path stateDir) throws NetworkException {
        return open(cfg, stateDir, NetworkListener.NONE);
    }

    /** As {@link #open(NetworkConfig, Path)}, reporting every operation to {@code listener}. */
    public static PodNetworks open(NetworkConfig cfg, Path stateDir, NetworkListener listener) throws NetworkException {
        return open(cfg, stateDir, listener, Clock.systemUTC());
    }

    static PodNetworks open(NetworkConfig cfg, Path stateDir, NetworkListener listener, Clock clock) throws NetworkException {
        if (cfg.hostNetns() != null && !Files.exists(cfg.hostNetns())) {
            throw new NetworkException.InvalidRequest("network.hostNetns: " + cfg.hostNetns() + " does not exist");
        }
        try {
            Files.createDirectories(stateDir);
        } catch (IOException e) {
            throw new NetworkException.StateError("cannot create " + stateDir + ": " + e.getMessage(), e);
        }
        LeaseStore leases = LeaseStore.load(stateDir);
        PodRecordStore records = PodRecordStore.load(stateDir);
        HostTools host = new HostTools(Netns.of(cfg.hostNetns()), cfg.commandTimeout());
        NetworkBackend backend = newBackend(cfg.mode(), cfg, host, records, leases, clock);
        PodNetworks n = new PodNetworks(cfg, stateDir, records, leases, backend, host, listener == null ? NetworkListener.NONE : listener, clock);
        if (backend instanceof BridgeBackend b) {
            b.dhcpClient().onExit(n::dhcpClientExited);
        }
        return n;
    }

    private static NetworkBackend newBackend(NetworkConfig.Mode mode, NetworkConfig cfg, HostTools host, PodRecordStore records,
                                             LeaseStore leases, Clock clock) throws NetworkException {
        return switch (mode) {
            case BRIDGE -> new BridgeBackend(cfg, host, records, leases, clock);
            case CNI -> new CniBackend(cfg, host, records);
        };
    }

    /**
     * Gives the pod its network. Idempotent per pod id: a pod already set up on the same netns gets
     * its status back; a half-set-up one is cleaned and set up again. On any failure everything
     * made for the pod is unwound before the exception is thrown.
     *
     * @throws NetworkException.InvalidRequest   malformed request
     * @throws NetworkException.PortConflict     a hostPort is mapped by another pod
     * @throws NetworkException.AddressExhausted the pod range is full
     * @throws NetworkException.NotReady         CNI mode without a valid config
     * @throws NetworkException.SetupFailed      a host command or plugin failed
     * @throws NetworkException.StateError       state files unwritable
     */
    public NetworkStatus setUp(PodNetworkRequest req) throws NetworkException {
        ensureOpen();
        long t0 = System.nanoTime();
        try {
            validate(req);
        } catch (NetworkException e) {
            emit(NetworkEvent.Operation.SET_UP, String.valueOf(req.podId()), t0, e);
            throw e;
        }
        ReentrantLock lock = podLocks.computeIfAbsent(req.podId(), k -> new ReentrantLock());
        lock.lock();
        try {
            NetworkStatus s = setUpLocked(req);
            long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
            LOG.log(System.Logger.Level.INFO, "network.setup pod={0} ns={1} name={2} ip={3} mac={4} ms={5}",
                    req.podId(), req.namespace(), req.name(), String.join(",", ips(s)), s.mac(), String.valueOf(ms));
            emit(NetworkEvent.Operation.SET_UP, req.podId(), t0, null);
            return s;
        } catch (NetworkException e) {
            LOG.log(System.Logger.Level.WARNING, "network.setup_failed pod={0} error={1}: {2}", req.podId(),
                    e.getClass().getSimpleName(), e.getMessage());
            emit(NetworkEvent.Operation.SET_UP, req.podId(), t0, e);
            throw e;
        } finally {
            lock.unlock();
        }
    }

    private NetworkStatus setUpLocked(PodNetworkRequest req) throws NetworkException {
        PodRecord existing = records.get(req.podId());
        if (existing != null) {
            if (existing.state() == PodRecord.State.READY && existing.mode().equals(backend.mode())
                    && existing.netns().equals(req.netnsPath().toString())) {
                return toStatus(existing);
            }
            List<String> errors = tearDownLocked(existing);
            if (!errors.isEmpty()) {
                throw new NetworkException.SetupFailed("pod " + req.podId() + " had a network that could not be removed: "
                        + String.join("; ", errors));
            }
        }
        String group = req.annotations().get(PodNetworkRequest.NETWORK_GROUP_ANNOTATION);
        if (group != null && backend instanceof CniBackend) {
            LOG.log(System.Logger.Level.WARNING, "network.group_ignored pod={0} group={1}: isolation groups need bridge mode",
                    req.podId(), group);
            group = null;
        }
        String stsName = req.labels().get(PodNetworkRequest.STATEFULSET_POD_NAME_LABEL);
        String stableKey = stsName == null || stsName.isBlank() ? null : req.namespace() + "/" + stsName;
        String bridge = backend instanceof BridgeBackend b ? b.bridgeFor(group) : null;
        String hostname = req.hostname() == null || req.hostname().isBlank() ? req.name() : req.hostname();
        PodRecord pending = new PodRecord(req.podId(), PodRecord.State.PENDING, backend.mode(), req.name(), req.namespace(),
                req.uid(), req.netnsPath().toString(), bridge, group, null, null, List.of(), null, null, stableKey,
                req.portMappings().stream().filter(p -> p.hostPort() != 0).toList(), req.dns(), hostname, null, clock.millis(), null);
        records.reserve(pending);
        try {
            PodRecord rec = backend.attach(pending, req);
            try {
                dnsFiles.write(records.dir(rec.podId()), req.dns(), backend.providedDns(rec), rec.plainAddresses(), hostname);
            } catch (IOException e) {
                throw new NetworkException.StateError("cannot write DNS files of pod " + rec.podId() + ": " + e.getMessage(), e);
            }
            rec = rec.withState(PodRecord.State.READY);
            records.update(rec);
            return toStatus(rec);
        } catch (NetworkException | RuntimeException e) {
            PodRecord partial = records.get(req.podId());
            List<String> unwind = partial == null ? List.of() : tearDownLocked(partial);
            if (!unwind.isEmpty()) {
                LOG.log(System.Logger.Level.WARNING, "network.unwind_failed pod={0} errors={1}", req.podId(), String.join("; ", unwind));
            }
            if (e instanceof NetworkException ne) {
                throw ne;
            }
            throw new NetworkException.SetupFailed("network setup of pod " + req.podId() + " failed: " + e, e);
        }
    }

    /**
     * Removes everything of the pod: hostPort rules, veth, address lease (StatefulSet leases are
     * kept for the retention period), group bridge when it was the last pod, DNS files; in CNI
     * mode runs DEL. Every step is tried; returns the errors (empty when clean). Idempotent: an
     * unknown pod is fine.
     */
    public List<String> tearDown(String podId) {
        ensureOpen();
        long t0 = System.nanoTime();
        if (!InterfaceNames.validPodId(podId)) {
            return List.of("invalid pod id '" + podId + "'");
        }
        ReentrantLock lock = podLocks.computeIfAbsent(podId, k -> new ReentrantLock());
        lock.lock();
        List<String> errors;
        try {
            PodRecord rec = records.get(podId);
            if (rec == null) {
                errors = new ArrayList<>();
                if (backend instanceof BridgeBackend b) {
                    try {
                        b.allocator().release(podId);
                    } catch (NetworkException e) {
                        errors.add(e.getMessage());
                    }
                }
                deleteTree(records.dir(podId), errors);
            } else {
                errors = tearDownLocked(rec);
            }
        } finally {
            lock.unlock();
            podLocks.remove(podId, lock);
        }
        long ms = Duration.ofNanos(System.nanoTime() - t0).toMillis();
        if (errors.isEmpty()) {
            LOG.log(System.Logger.Level.INFO, "network.teardown pod={0} ms={1}", podId, String.valueOf(ms));
        } else {
            LOG.log(System.Logger.Level.WARNING, "network.teardown pod={0} ms={1} errors={2}", podId, String.valueOf(ms), String.join("; ", errors));
        }
        emit(NetworkEvent.Operation.TEAR_DOWN, podId, t0, errors.isEmpty() ? null : "errors");
        return errors;
    }

    private List<String> tearDownLocked(PodRecord rec) {
        records.markRemoving(rec.podId());
        List<String> errors = new ArrayList<>();
        NetworkBackend b = backendFor(rec.mode(), errors);
        if (b != null) {
            errors.addAll(b.detach(rec));
        }
        if (errors.isEmpty()) {
            try {
                records.remove(rec.podId());
            } catch (IOException e) {
                errors.add("forget pod " + rec.podId() + ": " + e.getMessage());
            }
            deleteTree(records.dir(rec.podId()), errors);
        } else {
            try {
                records.update(rec.withState(PodRecord.State.REMOVING)); // kept so a later tearDown/reconcile retries
            } catch (NetworkException.StateError e) {
                errors.add(e.getMessage());
            }
        }
        return errors;
    }

    /** The pod's network when it is set up. */
    public Optional<NetworkStatus> status(String podId) {
        ensureOpen();
        PodRecord r = podId == null ? null : records.get(podId);
        return r == null || r.state() != PodRecord.State.READY ? Optional.empty() : Optional.of(toStatus(r));
    }

    /**
     * Verifies a set-up pod's network (bridge: veth on its bridge, addresses in the pod; CNI: the
     * plugins' CHECK). Returns the problems, empty when fine.
     */
    public List<String> check(String podId) {
        ensureOpen();
        PodRecord r = records.get(podId);
        if (r == null || r.state() != PodRecord.State.READY) {
            return List.of("pod " + podId + " has no network");
        }
        List<String> errors = new ArrayList<>();
        NetworkBackend b = backendFor(r.mode(), errors);
        return b == null ? errors : b.check(r);
    }

    /**
     * After a daemon restart: tears down the network of every pod not in {@code livePodIds} (and
     * of pods whose setUp was interrupted), removes leftover veths, group bridges and leases, and
     * re-applies the bridges and nftables rules live pods need. Returns the errors.
     */
    public List<String> reconcile(Set<String> livePodIds) {
        ensureOpen();
        long t0 = System.nanoTime();
        List<String> errors = new ArrayList<>();
        for (PodRecord r : records.all()) {
            if (!livePodIds.contains(r.podId()) || r.state() != PodRecord.State.READY) {
                for (String e : tearDown(r.podId())) {
                    errors.add("pod " + r.podId() + ": " + e);
                }
            }
        }
        errors.addAll(backend.reconcileHost(records.live(), livePodIds));
        try (Stream<Path> dirs = Files.list(stateDir)) {
            for (Path d : dirs.filter(Files::isDirectory).toList()) {
                String id = d.getFileName().toString();
                if (!livePodIds.contains(id) && records.get(id) == null && InterfaceNames.validPodId(id)) {
                    deleteTree(d, errors);
                }
            }
        } catch (IOException e) {
            errors.add("list " + stateDir + ": " + e.getMessage());
        }
        LOG.log(System.Logger.Level.INFO, "network.reconcile live={0} kept={1} errors={2}", String.valueOf(livePodIds.size()),
                String.valueOf(records.live().size()), String.valueOf(errors.size()));
        emit(NetworkEvent.Operation.RECONCILE, "", t0, errors.isEmpty() ? null : "errors");
        return errors;
    }

    /** NetworkReady for kubelet. CNI mode: false until a valid config exists (re-checked on every call). */
    public Readiness readiness() {
        ensureOpen();
        return backend.readiness();
    }

    /**
     * kubelet's pod CIDR (UpdateRuntimeConfig; may be "v4,v6"). Bridge mode uses its IPv4 range
     * unless {@code network.cidr} is configured; changing it while pods hold addresses is refused.
     */
    public void updatePodCidr(String cidr) throws NetworkException {
        ensureOpen();
        if (cidr == null || cidr.isBlank()) {
            return;
        }
        backend.updatePodCidr(cidr);
    }

    /** Traffic counters of the bridges in use (bridge mode) or named by the CNI config. */
    public List<BridgeCounters> bridgeCounters() {
        ensureOpen();
        return backend.counters();
    }

    /** Ids of the pods that have a network record (any state). */
    public Set<String> podIds() {
        ensureOpen();
        Set<String> ids = new TreeSet<>();
        records.all().forEach(r -> ids.add(r.podId()));
        return ids;
    }

    /**
     * Nothing on the host is touched: pods keep their network (DHCP clients keep running and
     * renewing); a later open() and reconcile() pick it up.
     */
    @Override
    public void close() {
        closed = true;
        if (backend instanceof BridgeBackend b) {
            b.dhcpClient().stopWatching();
        }
    }

    /** A watched DHCP client died on its own: start it again (after a backoff) while its pod is set up. */
    private void dhcpClientExited(String podId, long pid) {
        if (closed || !(backend instanceof BridgeBackend b)) {
            return;
        }
        java.time.Duration delay = b.dhcpClient().restartDelay(podId);
        LOG.log(System.Logger.Level.WARNING, "network.dhcp_client_exited pod={0} pid={1} restart_in={2}s: {3}", podId,
                String.valueOf(pid), String.valueOf(delay.toSeconds()), b.dhcpClient().logTail(podId));
        try {
            Thread.sleep(delay);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        ReentrantLock lock = podLocks.computeIfAbsent(podId, k -> new ReentrantLock());
        lock.lock();
        try {
            PodRecord r = records.get(podId);
            if (closed || r == null || r.state() != PodRecord.State.READY || !r.dhcpAddressed() || r.dhcp().pid() != pid) {
                return;
            }
            PodRecord next = b.restartDhcpClient(r);
            LOG.log(System.Logger.Level.INFO, "network.dhcp_restarted pod={0} pid={1} was={2}", podId,
                    String.valueOf(next.dhcp().pid()), String.valueOf(pid));
        } catch (IOException | NetworkException e) {
            LOG.log(System.Logger.Level.WARNING, "network.dhcp_restart_failed pod={0}: {1}", podId, e.getMessage());
        } finally {
            lock.unlock();
        }
    }

    // ---- internals ----

    int leaseCount() {
        return backend instanceof BridgeBackend b ? b.allocator().leaseCount() : 0;
    }

    HostTools host() {
        return host;
    }

    private NetworkBackend backendFor(String mode, List<String> errors) {
        if (mode == null || mode.equals(backend.mode())) {
            return backend;
        }
        try {
            NetworkBackend other = otherBackends.get(mode);
            if (other == null) {
                other = newBackend(mode.equals("cni") ? NetworkConfig.Mode.CNI : NetworkConfig.Mode.BRIDGE, cfg, host, records, leases, clock);
                otherBackends.put(mode, other);
            }
            return other;
        } catch (NetworkException e) {
            errors.add("backend " + mode + ": " + e.getMessage());
            return null;
        }
    }

    private NetworkStatus toStatus(PodRecord r) {
        List<String> ips = r.plainAddresses();
        DnsFiles.Paths p = DnsFiles.paths(records.dir(r.podId()));
        return new NetworkStatus(r.podId(), ips.isEmpty() ? null : ips.getFirst(), ips.size() > 1 ? ips.subList(1, ips.size()) : List.of(),
                r.mac(), InterfaceNames.POD_IFNAME, r.gateway() != null ? r.gateway() : r.gateway6(), p.resolvConf(), p.hosts());
    }

    private static List<String> ips(NetworkStatus s) {
        List<String> out = new ArrayList<>();
        if (s.ip() != null) {
            out.add(s.ip());
        }
        out.addAll(s.additionalIps());
        return out;
    }

    private static void validate(PodNetworkRequest req) throws NetworkException.InvalidRequest {
        if (!InterfaceNames.validPodId(req.podId())) {
            throw new NetworkException.InvalidRequest("pod id '" + req.podId() + "' must be 1-128 letters, digits, '.', '_' or '-'");
        }
        if (req.name() == null || !NAME.matcher(req.name()).matches()) {
            throw new NetworkException.InvalidRequest("pod name '" + req.name() + "' is not a valid name");
        }
        if (req.namespace() == null || !NAME.matcher(req.namespace()).matches()) {
            throw new NetworkException.InvalidRequest("pod namespace '" + req.namespace() + "' is not a valid name");
        }
        if (req.uid().chars().anyMatch(c -> c == ';' || c == '=' || Character.isWhitespace(c))) {
            throw new NetworkException.InvalidRequest("pod uid '" + req.uid() + "' contains ';', '=' or spaces");
        }
        if (req.netnsPath() == null || !req.netnsPath().isAbsolute() || !Files.exists(req.netnsPath())) {
            throw new NetworkException.InvalidRequest("netns path '" + req.netnsPath() + "' must be an existing absolute path");
        }
        if (req.hostname() != null && !req.hostname().isBlank() && !HOSTNAME.matcher(req.hostname()).matches()) {
            throw new NetworkException.InvalidRequest("hostname '" + req.hostname() + "' is not a valid host name");
        }
        String group = req.annotations().get(PodNetworkRequest.NETWORK_GROUP_ANNOTATION);
        if (group != null && !InterfaceNames.validGroup(group)) {
            throw new NetworkException.InvalidRequest("annotation " + PodNetworkRequest.NETWORK_GROUP_ANNOTATION + "='" + group
                    + "' must be a lower-case DNS label (a-z, 0-9, '-', '.'; at most 63)");
        }
        for (PortMapping p : req.portMappings()) {
            if (p.containerPort() < 1 || p.containerPort() > 65535) {
                throw new NetworkException.InvalidRequest("containerPort " + p.containerPort() + " is outside 1..65535");
            }
            if (p.hostPort() < 0 || p.hostPort() > 65535) {
                throw new NetworkException.InvalidRequest("hostPort " + p.hostPort() + " is outside 0..65535");
            }
            if (p.hostIp() != null && IpLiterals.parse(p.hostIp()) == null) {
                throw new NetworkException.InvalidRequest("hostIp '" + p.hostIp() + "' is not an IP address");
            }
        }
        var dup = HostPortClaims.selfConflict(req.portMappings());
        if (dup.isPresent()) {
            throw new NetworkException.InvalidRequest(dup.get());
        }
        DnsFiles.validate(req.dns());
    }

    private void emit(NetworkEvent.Operation op, String podId, long t0, Object error) {
        String err = error == null ? "" : error instanceof Throwable t ? t.getClass().getSimpleName() : error.toString();
        try {
            listener.onEvent(new NetworkEvent(op, podId, Duration.ofNanos(System.nanoTime() - t0), error == null, err));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "network.listener_failed: {0}", e.toString());
        }
    }

    private static void deleteTree(Path dir, List<String> errors) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            errors.add("delete " + dir + ": " + e.getMessage());
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("PodNetworks is closed");
        }
    }
}
