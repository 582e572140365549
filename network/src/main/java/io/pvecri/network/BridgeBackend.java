package io.pvecri.network;

import java.io.IOException;
import java.net.InetAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The built-in network: a Linux bridge per isolation group (the default one, {@code pvecri0}),
 * a veth pair per pod, addresses from {@link AddressAllocator}, and the library's nftables tables.
 * Group bridges hold the gateway as /32 (/128) plus a host route per pod, so every pod address
 * stays inside the one node pod CIDR while pods of different bridges cannot reach each other.
 *
 * <p>With DHCP addressing the default bridge is an existing LAN bridge: pods on it get a veth
 * on that bridge and a {@link DhcpClient} in their netns; the bridge itself is never created,
 * addressed, masqueraded or deleted. Isolation-group pods keep the static addressing above.
 */
final class BridgeBackend implements NetworkBackend {
    private static final System.Logger LOG = System.getLogger(BridgeBackend.class.getName());

    private final NetworkConfig cfg;
    private final HostTools host;
    private final PodRecordStore records;
    private final LeaseStore leaseStore;
    private final AddressAllocator allocator;
    private final BridgeManager bridges;
    private final PodInterface podInterface;
    private final Firewall firewall;
    private final Map<String, ReentrantLock> bridgeLocks = new ConcurrentHashMap<>();
    /** Held only while the records are read and the rendered ruleset is loaded (innermost lock). */
    private final Object rulesLock = new Object();
    private final Readiness readiness;
    private final DhcpClient dhcp;
    private volatile boolean hostPrepared;

    BridgeBackend(NetworkConfig cfg, HostTools host, PodRecordStore records, LeaseStore leaseStore, Clock clock)
            throws NetworkException.InvalidRequest {
        this.cfg = cfg;
        this.host = host;
        this.records = records;
        this.leaseStore = leaseStore;
        this.allocator = new AddressAllocator(leaseStore, cfg.statefulSetRetention(), clock);
        this.bridges = new BridgeManager(host, cfg.mtu());
        this.podInterface = new PodInterface(host, cfg.mtu());
        this.firewall = new Firewall(host);
        this.dhcp = new DhcpClient(cfg.dhcp(), records.stateDir(), cfg.commandTimeout());
        pools(); // validates cidr / gateway now
        this.readiness = probeTools(host, dhcpMode());
    }

    DhcpClient dhcpClient() {
        return dhcp;
    }

    private boolean dhcpMode() {
        return cfg.addressing() == NetworkConfig.Addressing.DHCP;
    }

    /** The existing LAN bridge of DHCP addressing: never created, addressed or deleted by the library. */
    private boolean isDhcpBridge(String bridge) {
        return dhcpMode() && cfg.bridge().equals(bridge);
    }

    @Override
    public String mode() {
        return "bridge";
    }

    AddressAllocator allocator() {
        return allocator;
    }

    /** The effective IPv4 range: configured, else kubelet's, else the default. */
    Subnet cidr4() throws NetworkException.InvalidRequest {
        String c = cfg.cidr() != null ? cfg.cidr() : leaseStore.kubeletCidr() != null ? leaseStore.kubeletCidr() : NetworkConfig.DEFAULT_CIDR;
        return Subnet.parse(c);
    }

    Subnet cidr6() throws NetworkException.InvalidRequest {
        return cfg.cidr6() == null ? null : Subnet.parse(cfg.cidr6());
    }

    List<AddressAllocator.Pool> pools() throws NetworkException.InvalidRequest {
        List<AddressAllocator.Pool> out = new ArrayList<>();
        Subnet v4 = cidr4();
        if (!v4.isV4() || v4.prefix() > 30) {
            throw new NetworkException.InvalidRequest("network.cidr: " + v4 + " must be an IPv4 range of at least 4 addresses (prefix <= 30)");
        }
        out.add(new AddressAllocator.Pool(v4, gateway(v4, cfg.gateway(), "network.gateway")));
        Subnet v6 = cidr6();
        if (v6 != null) {
            if (v6.isV4() || v6.prefix() > 126) {
                throw new NetworkException.InvalidRequest("network.cidr6: " + v6 + " must be an IPv6 range with prefix <= 126");
            }
            out.add(new AddressAllocator.Pool(v6, gateway(v6, cfg.gateway6(), "network.gateway6")));
        }
        return out;
    }

    private static InetAddress gateway(Subnet s, String configured, String key) throws NetworkException.InvalidRequest {
        if (configured == null) {
            return s.firstHost();
        }
        InetAddress g = IpLiterals.parse(configured);
        if (g == null || !s.contains(g) || g.equals(s.network()) || (s.isV4() && g.equals(s.last()))) {
            throw new NetworkException.InvalidRequest(key + ": '" + configured + "' is not a host address of " + s);
        }
        return g;
    }

    @Override
    public PodRecord attach(PodRecord pending, PodNetworkRequest req) throws NetworkException {
        if (!readiness.ready()) {
            throw new NetworkException.NotReady(readiness.message());
        }
        if (isDhcpBridge(pending.bridge())) {
            return attachDhcp(pending);
        }
        List<AddressAllocator.Pool> pools;
        AddressAllocator.Allocation alloc;
        synchronized (this) { // against a concurrent updatePodCidr
            pools = pools();
            alloc = allocator.allocate(pending.podId(), pending.stableKey(), pools);
        }
        String mac = alloc.stable() ? MacAddresses.stable(pending.stableKey()) : MacAddresses.random();
        List<String> addresses = new ArrayList<>();
        for (int i = 0; i < pools.size(); i++) {
            addresses.add(pools.get(i).subnet().cidrOf(alloc.addresses().get(i)));
        }
        String gw4 = IpLiterals.format(pools.getFirst().gateway());
        String gw6 = pools.size() > 1 ? IpLiterals.format(pools.get(1).gateway()) : null;
        PodRecord rec = pending.withAddressing(hostIfaceFor(pending.podId()), mac, addresses, gw4, gw6);
        records.update(rec);

        boolean group = rec.group() != null;
        try {
            prepareHost();
            withBridgeLock(rec.bridge(), () -> bridges.ensure(rec.bridge(), bridgeAddresses(pools, group)));
            podInterface.create(wiring(rec));
            applyRules();
        } catch (IOException e) {
            throw new NetworkException.SetupFailed("network setup of pod " + rec.podId() + " failed: " + e.getMessage(), e);
        }
        return rec;
    }

    /** A pod on the LAN bridge: veth, MAC filter, then the DHCP client, waiting for its first lease. */
    private PodRecord attachDhcp(PodRecord pending) throws NetworkException {
        if (!pending.activePorts().isEmpty()) {
            LOG.log(System.Logger.Level.WARNING, "network.hostport_ignored pod={0} bridge={1}: a DHCP pod is reached at its own LAN address",
                    pending.podId(), pending.bridge());
        }
        String mac = MacAddresses.random();
        if (pending.stableKey() != null) {
            String stable = MacAddresses.stable(pending.stableKey());
            PodRecord holder = records.live().stream()
                    .filter(r -> !r.podId().equals(pending.podId()) && stable.equals(r.mac())).findFirst().orElse(null);
            if (holder == null) {
                mac = stable;
            } else {
                LOG.log(System.Logger.Level.WARNING, "network.stable_mac_busy pod={0} key={1} holder={2}: giving a random MAC",
                        pending.podId(), pending.stableKey(), holder.podId());
            }
        }
        PodRecord rec = pending.withAddressing(hostIfaceFor(pending.podId()), mac, List.of(), null, null)
                .withDhcp(new PodRecord.DhcpState(0, null, null, 0));
        records.update(rec);
        try {
            int mtu = bridges.existingBridgeMtu(rec.bridge());
            podInterface.create(wiring(rec, mtu));
            applyRules(); // the pod's MAC filter is in place before its client sends anything
            long pid = dhcp.start(rec, null);
            rec = rec.withDhcp(rec.dhcp().withPid(pid));
            records.update(rec);
            DhcpClient.Lease lease = dhcp.awaitFirstLease(rec, pid);
            rec = rec.withAddressing(rec.hostIface(), mac, List.of(lease.ip() + "/" + lease.prefix()), lease.router(), null)
                    .withDhcp(new PodRecord.DhcpState(pid, lease.dnsConfig(), lease.server(), lease.leaseSeconds()));
            records.update(rec);
            dhcp.watch(rec.podId(), pid);
            return rec;
        } catch (IOException e) {
            throw new NetworkException.SetupFailed("network setup of pod " + rec.podId() + " on bridge " + rec.bridge()
                    + " failed: " + e.getMessage(), e);
        }
    }

    /**
     * Starts the DHCP client of a set-up pod again (it died, or the daemon found it gone after a
     * restart), asking for the address the pod had. Does not wait for the lease. Returns the record.
     */
    PodRecord restartDhcpClient(PodRecord rec) throws IOException, NetworkException.StateError {
        String ip = rec.plainAddresses().isEmpty() ? null : rec.plainAddresses().getFirst();
        long pid = dhcp.start(rec, ip);
        PodRecord next = rec.withDhcp(rec.dhcp().withPid(pid));
        records.update(next);
        dhcp.watch(next.podId(), pid);
        return next;
    }

    @Override
    public List<String> detach(PodRecord rec) {
        List<String> errors = new ArrayList<>();
        if (rec.dhcpAddressed()) {
            errors.addAll(dhcp.stop(rec.podId(), rec.dhcp().pid())); // releases the lease while the veth is still there
        }
        try {
            applyRules(); // the record is REMOVING: its rules go
        } catch (IOException | NetworkException e) {
            errors.add("nft: " + e.getMessage());
        }
        if (rec.hostIface() != null) {
            errors.addAll(podInterface.delete(rec.hostIface(), rec.bridge(), rec.addresses(), rec.group() != null));
        }
        try {
            allocator.release(rec.podId());
        } catch (NetworkException e) {
            errors.add(e.getMessage());
        }
        if (rec.group() != null) {
            try {
                withBridgeLock(rec.bridge(), () -> {
                    if (records.live().stream().noneMatch(r -> rec.bridge().equals(r.bridge()))) {
                        bridges.delete(rec.bridge());
                    }
                });
            } catch (IOException e) {
                errors.add("delete bridge " + rec.bridge() + ": " + e.getMessage());
            }
        }
        return errors;
    }

    @Override
    public List<String> check(PodRecord rec) {
        List<String> problems = new ArrayList<>();
        if (rec.dhcpAddressed()) {
            dhcp.trimLog(rec.podId());
            if (!dhcp.isClient(rec.dhcp().pid(), rec.podId())) {
                problems.add("the DHCP client of pod " + rec.podId() + " (pid " + rec.dhcp().pid() + ") is not running");
            }
            DhcpClient.Lease l = dhcp.readLease(rec.podId());
            if (l == null || !l.bound()) {
                problems.add("pod " + rec.podId() + " has no DHCP lease (last event: " + (l == null ? "none" : l.state()) + ")");
            }
        }
        try {
            problems.addAll(podInterface.check(wiring(rec)));
        } catch (IOException e) {
            problems.add(e.getMessage());
        }
        return problems;
    }

    @Override
    public List<String> reconcileHost(Collection<PodRecord> live, Set<String> livePodIds) {
        List<String> errors = new ArrayList<>();
        Set<String> liveIfaces = new HashSet<>();
        Set<String> liveBridges = new HashSet<>();
        for (PodRecord r : live) {
            if (r.hostIface() != null) {
                liveIfaces.add(r.hostIface());
            }
            if (r.bridge() != null) {
                liveBridges.add(r.bridge());
            }
        }
        for (String podId : allocator.podsWithLeases()) {
            if (!livePodIds.contains(podId)) {
                try {
                    allocator.release(podId);
                } catch (NetworkException e) {
                    errors.add(e.getMessage());
                }
            }
        }
        errors.addAll(reconcileDhcpClients(live));
        try {
            List<AddressAllocator.Pool> pools = pools();
            if (live.stream().anyMatch(r -> mode().equals(r.mode()) && !r.dhcpAddressed())) {
                prepareHost();
            }
            for (String b : liveBridges) {
                if (isDhcpBridge(b)) {
                    continue;
                }
                boolean group = InterfaceNames.isGroupBridge(b);
                withBridgeLock(b, () -> bridges.ensure(b, bridgeAddresses(pools, group)));
            }
            List<String[]> veths = bridges.veths();
            Set<String> present = new HashSet<>();
            veths.forEach(v -> present.add(v[0]));
            for (PodRecord r : live) {
                if (r.hostIface() != null && !present.contains(r.hostIface())) {
                    errors.add("pod " + r.podId() + ": veth " + r.hostIface() + " is missing (its netns is gone?)");
                }
            }
            for (String[] veth : veths) {
                String name = veth[0];
                String master = veth[1];
                boolean ours = master.equals(cfg.bridge()) || InterfaceNames.isGroupBridge(master);
                if (InterfaceNames.isHostVeth(name) && ours && !liveIfaces.contains(name)) {
                    errors.addAll(podInterface.delete(name, master, List.of(), false));
                }
            }
            for (String b : bridges.bridges()) {
                if (InterfaceNames.isGroupBridge(b) && !liveBridges.contains(b)) {
                    withBridgeLock(b, () -> bridges.delete(b));
                }
            }
            // A node with no pods and no table of ours is left alone: nothing is written to the
            // host's firewall before the first pod needs it.
            if (!live.isEmpty() || firewall.tableExists(cfg.nftTable())) {
                applyRules();
            }
        } catch (IOException | NetworkException e) {
            errors.add(e.getMessage());
        }
        return errors;
    }

    /**
     * After a restart: adopts the running DHCP client of every live DHCP pod (watching it from now
     * on), starts the ones that are gone again, and stops clients of this state dir that belong to
     * no live pod (or are not the recorded one).
     */
    private List<String> reconcileDhcpClients(Collection<PodRecord> live) {
        List<String> errors = new ArrayList<>();
        Map<String, Long> kept = new java.util.HashMap<>();
        for (PodRecord r : live) {
            if (!r.dhcpAddressed() || !mode().equals(r.mode())) {
                continue;
            }
            long pid = r.dhcp().pid();
            if (pid > 0 && dhcp.isClient(pid, r.podId())) {
                dhcp.trimLog(r.podId());
                dhcp.watch(r.podId(), pid);
                kept.put(r.podId(), pid);
                LOG.log(System.Logger.Level.INFO, "network.dhcp_adopted pod={0} pid={1}", r.podId(), String.valueOf(pid));
                continue;
            }
            try {
                PodRecord next = restartDhcpClient(r);
                kept.put(r.podId(), next.dhcp().pid());
                LOG.log(System.Logger.Level.INFO, "network.dhcp_restarted pod={0} pid={1} was={2}", r.podId(),
                        String.valueOf(next.dhcp().pid()), String.valueOf(pid));
            } catch (IOException | NetworkException e) {
                errors.add("pod " + r.podId() + ": cannot start its DHCP client again: " + e.getMessage());
            }
        }
        for (Map.Entry<Long, String> c : dhcp.running().entrySet()) {
            Long want = kept.get(c.getValue());
            if (want == null || want.longValue() != c.getKey()) {
                LOG.log(System.Logger.Level.INFO, "network.dhcp_orphan pod={0} pid={1}: stopping it", c.getValue(), String.valueOf(c.getKey()));
                // a second client of a live pod shares its MAC, hence its lease: that one is not released
                errors.addAll(dhcp.stopProcess(c.getValue(), c.getKey(), want == null));
            }
        }
        return errors;
    }

    @Override
    public Readiness readiness() {
        if (readiness.ready() && dhcpMode()) {
            try {
                bridges.existingBridgeMtu(cfg.bridge());
            } catch (IOException e) {
                return Readiness.notReady("NetworkBridgeMissing", e.getMessage());
            }
        }
        return readiness;
    }

    @Override
    public void updatePodCidr(String cidr) throws NetworkException {
        String v4 = null;
        for (String part : cidr.split(",")) {
            Subnet s = Subnet.parse(part.trim());
            if (s.isV4() && v4 == null) {
                v4 = s.toString();
            }
        }
        if (v4 == null) {
            throw new NetworkException.InvalidRequest("pod CIDR '" + cidr + "' has no IPv4 range");
        }
        if (cfg.cidr() != null) {
            if (!Subnet.parse(cfg.cidr()).toString().equals(v4)) {
                LOG.log(System.Logger.Level.WARNING, "network.pod_cidr_ignored kubelet={0} configured={1}: network.cidr wins", v4, cfg.cidr());
            }
            return;
        }
        synchronized (this) {
            if (cidr4().toString().equals(v4)) {
                return;
            }
            if (!allocator.podsWithLeases().isEmpty()) {
                throw new NetworkException.InvalidRequest("cannot change the pod CIDR from " + cidr4() + " to " + v4
                        + " while pods hold addresses");
            }
            leaseStore.commitKubeletCidr(v4, leaseStore.leases());
            allocator.dropOutside(pools());
            LOG.log(System.Logger.Level.INFO, "network.pod_cidr_set cidr={0}", v4);
            try {
                List<AddressAllocator.Pool> pools = pools();
                if (!dhcpMode() && bridges.exists(cfg.bridge())) {
                    withBridgeLock(cfg.bridge(), () -> bridges.ensure(cfg.bridge(), bridgeAddresses(pools, false)));
                }
                applyRules();
            } catch (IOException e) {
                throw new NetworkException.SetupFailed("cannot move bridge " + cfg.bridge() + " to " + v4 + ": " + e.getMessage(), e);
            }
        }
    }

    @Override
    public List<BridgeCounters> counters() {
        Set<String> names = new TreeSet<>();
        names.add(cfg.bridge());
        for (PodRecord r : records.live()) {
            if (r.bridge() != null) {
                names.add(r.bridge());
            }
        }
        try {
            return bridges.counters(names);
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "network.counters_failed: {0}", e.getMessage());
            return List.of();
        }
    }

    @Override
    public DnsConfig providedDns(PodRecord rec) {
        return rec.dhcpAddressed() ? rec.dhcp().lanDns() : null;
    }

    /**
     * Re-renders and loads the nftables tables from the current records. Synchronized so that
     * reading the records and loading the result happen together: with parallel setUps and
     * tearDowns, a render from an older view of the records could otherwise be loaded last.
     */
    void applyRules() throws IOException, NetworkException.InvalidRequest {
        synchronized (rulesLock) {
            applyRulesLocked();
        }
    }

    private void applyRulesLocked() throws IOException, NetworkException.InvalidRequest {
        Set<String> inUse = new LinkedHashSet<>(); // pve-cri's own bridges (the DHCP LAN bridge is not one)
        if (!dhcpMode()) {
            inUse.add(cfg.bridge());
        }
        List<PodRecord> pods = new ArrayList<>();
        for (PodRecord r : records.live()) {
            if (!mode().equals(r.mode())) {
                continue;
            }
            if (r.bridge() != null && !r.dhcpAddressed()) {
                inUse.add(r.bridge());
            }
            if (r.hostIface() != null && r.mac() != null && (!r.addresses().isEmpty() || r.dhcpAddressed())) {
                pods.add(r);
            }
        }
        firewall.apply(new NftRuleset.Input(cfg.nftTable(), List.copyOf(inUse), cidr4(), cidr6(), cfg.masquerade(), pods, true));
    }

    /** Sysctls the bridge network needs in the host netns, once. */
    private void prepareHost() throws IOException {
        if (hostPrepared || !cfg.ipForward()) {
            return;
        }
        List<String> keys = new ArrayList<>(List.of("net.ipv4.ip_forward=1"));
        if (cfg.cidr6() != null) {
            keys.add("net.ipv6.conf.all.forwarding=1");
        }
        host.sysctl(keys.toArray(String[]::new));
        hostPrepared = true;
    }

    private static List<String> bridgeAddresses(List<AddressAllocator.Pool> pools, boolean group) {
        List<String> out = new ArrayList<>();
        for (AddressAllocator.Pool p : pools) {
            String gw = IpLiterals.format(p.gateway());
            out.add(group ? gw + (p.subnet().isV4() ? "/32" : "/128") : gw + "/" + p.subnet().prefix());
        }
        return out;
    }

    private PodInterface.Wiring wiring(PodRecord rec) {
        return wiring(rec, 0);
    }

    private PodInterface.Wiring wiring(PodRecord rec, int mtu) {
        if (rec.dhcpAddressed()) { // the DHCP client puts the address and route in place
            return new PodInterface.Wiring(rec.hostIface(), rec.bridge(), java.nio.file.Path.of(rec.netns()), rec.mac(),
                    List.of(), null, null, false, mtu);
        }
        return new PodInterface.Wiring(rec.hostIface(), rec.bridge(), java.nio.file.Path.of(rec.netns()), rec.mac(),
                rec.addresses(), rec.gateway(), rec.gateway6(), rec.group() != null, mtu);
    }

    private String hostIfaceFor(String podId) {
        String name = InterfaceNames.hostVeth(podId);
        for (PodRecord r : records.all()) {
            if (!r.podId().equals(podId) && name.equals(r.hostIface())) {
                return InterfaceNames.hostVethAlternative(podId);
            }
        }
        return name;
    }

    /** The group's bridge name, or the default bridge. */
    String bridgeFor(String group) {
        return group == null ? cfg.bridge() : InterfaceNames.groupBridge(group);
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private void withBridgeLock(String bridge, IoAction action) throws IOException {
        ReentrantLock lock = bridgeLocks.computeIfAbsent(bridge, b -> new ReentrantLock());
        lock.lock();
        try {
            action.run();
        } finally {
            lock.unlock();
        }
    }

    private static Readiness probeTools(HostTools host, boolean dhcp) {
        List<List<String>> probes = new ArrayList<>(List.of(List.of("ip", "-V"), List.of("nft", "--version")));
        if (dhcp) { // the DHCP clients run in the daemon's own namespaces (inside the pod netns), not in hostNetns
            try {
                Exec.Result r = Exec.run(List.of("busybox", "udhcpc", "--help"), null, null, host.timeout());
                Exec.Result s = Exec.run(List.of("setsid", "--version"), null, null, host.timeout());
                if (!r.ok() || !s.ok()) {
                    return Readiness.notReady("NetworkToolsMissing", "DHCP addressing needs busybox (udhcpc) and setsid: "
                            + (r.ok() ? s.describe() : r.describe()));
                }
            } catch (IOException e) {
                return Readiness.notReady("NetworkToolsMissing", "DHCP addressing needs busybox (udhcpc) and setsid: " + e.getMessage());
            }
        }
        for (List<String> probe : probes) {
            try {
                Exec.Result r = Exec.run(host.netns().wrap(probe), null, null, host.timeout());
                if (!r.ok()) {
                    return Readiness.notReady("NetworkToolsMissing", r.describe());
                }
            } catch (IOException e) {
                return Readiness.notReady("NetworkToolsMissing", probe.getFirst() + " cannot run: " + e.getMessage());
            }
        }
        return Readiness.ok();
    }
}
