package io.pvecri.proxmox.emulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The emulated cluster's state: nodes, guests (VMID → config with digest, power state), the per-VMID
 * config flocks ({@code /run/lock/lxc/pve-config-<vmid>.lock}), storages with volumes, tasks, and ACL
 * denials. Handlers and tests share it; every method is thread-safe.
 *
 * <p>The VMID claim is atomic (a {@code putIfAbsent}), as pmxcfs refuses to create a second
 * {@code <vmid>.conf} anywhere in the cluster; {@code nextid} reserves nothing, as in PVE.
 */
public final class EmulatedCluster {

    /** A read-only copy of a guest, for tests. */
    public record Guest(int vmid, String node, String type, Map<String, String> config, boolean running, String digest) {
        public Optional<String> lock() {
            return Optional.ofNullable(config.get("lock"));
        }
    }

    /** A read-only copy of a volume. */
    public record Volume(String volid, String content, String format, long size, int vmid, String parent) {
    }

    static final class Storage {
        final String id;
        final String type;
        final Set<String> content;
        final boolean shared;
        final Map<String, Volume> volumes = new ConcurrentHashMap<>();

        Storage(String id, String type, Set<String> content, boolean shared) {
            this.id = id;
            this.type = type;
            this.content = content;
            this.shared = shared;
        }

        boolean hasPath() {
            return type.equals("dir") || type.equals("nfs") || type.equals("cifs") || type.equals("btrfs");
        }

        boolean linkedClones() {
            return type.equals("zfspool") || type.equals("lvmthin") || type.equals("rbd") || type.equals("btrfs");
        }
    }

    private final List<String> nodes;
    private final Map<Integer, GuestState> guests = new ConcurrentHashMap<>();
    private final Map<Integer, Semaphore> flocks = new ConcurrentHashMap<>();
    private final Map<String, Storage> storages = new ConcurrentHashMap<>();
    private final Set<String> denied = ConcurrentHashMap.newKeySet();
    private final int nextIdLower;
    private final int nextIdUpper;
    final TaskRegistry tasks;

    EmulatedCluster(List<String> nodes, int nextIdLower, int nextIdUpper, long pstartBase) {
        this.nodes = List.copyOf(nodes);
        this.nextIdLower = nextIdLower;
        this.nextIdUpper = nextIdUpper;
        this.tasks = new TaskRegistry(pstartBase);
        addStorage("local", "dir", Set.of("vztmpl", "iso", "backup", "import"), false);
        addStorage("local-zfs", "zfspool", Set.of("rootdir", "images"), false);
    }

    public List<String> nodes() {
        return nodes;
    }

    // ---- guests -------------------------------------------------------------------------------

    public Optional<Guest> guest(int vmid) {
        GuestState g = guests.get(vmid);
        if (g == null) {
            return Optional.empty();
        }
        synchronized (g) {
            return Optional.of(new Guest(g.vmid, g.node, g.type, Map.copyOf(g.config), g.running, g.digest()));
        }
    }

    public List<Guest> guests() {
        List<Guest> out = new ArrayList<>();
        for (Integer id : guests.keySet().stream().sorted().toList()) {
            guest(id).ifPresent(out::add);
        }
        return out;
    }

    /** Seeds a guest (LXC {@code lxc} or QEMU {@code qemu}) directly, bypassing the API. */
    public void putGuest(int vmid, String node, String type, Map<String, String> config) {
        requireNode(node);
        guests.put(vmid, new GuestState(vmid, type, node, config));
    }

    /** Sets (or with null clears) the {@code lock:} config property, e.g. {@code disk}. */
    public void setLock(int vmid, String lock) {
        GuestState g = Objects.requireNonNull(guests.get(vmid), () -> "no guest " + vmid);
        synchronized (g) {
            if (lock == null) {
                g.config.remove("lock");
            } else {
                g.config.put("lock", lock);
            }
        }
    }

    /** Makes the guest ignore clean shutdown requests (a payload that traps SIGTERM). */
    public void ignoreShutdown(int vmid, boolean ignore) {
        GuestState g = Objects.requireNonNull(guests.get(vmid), () -> "no guest " + vmid);
        synchronized (g) {
            g.ignoreShutdown = ignore;
        }
    }

    /** Holds the config flock of {@code vmid} for {@code d} on a background thread (a slow concurrent worker). */
    public void holdConfigFlock(int vmid, Duration d) throws InterruptedException {
        Semaphore s = flock(vmid);
        s.acquire();
        Thread.ofVirtual().start(() -> {
            try {
                Thread.sleep(d);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            } finally {
                s.release();
            }
        });
    }

    GuestState state(int vmid) {
        return guests.get(vmid);
    }

    /** {@code PVE::AbstractConfig::load_config}: the guest on {@code node}, or PVE's "does not exist". */
    GuestState load(String node, int vmid, String kind) {
        GuestState g = guests.get(vmid);
        if (g == null || !g.node.equals(node) || !g.type.equals(kind)) {
            throw PveError.die("Configuration file 'nodes/" + node + "/" + (kind.equals("qemu") ? "qemu-server" : "lxc")
                    + "/" + vmid + ".conf' does not exist");
        }
        return g;
    }

    /** {@code PVE::Cluster::check_vmid_unused}. */
    void checkVmidUnused(int vmid) {
        GuestState g = guests.get(vmid);
        if (g != null) {
            throw PveError.die(g.kind() + " " + vmid + " already exists on node '" + g.node + "'");
        }
    }

    /** The atomic claim of {@code create_and_lock_config}: writes the config with {@code lock: create}. */
    GuestState claim(int vmid, String node, String errorPrefix) {
        GuestState fresh = new GuestState(vmid, "lxc", node, Map.of("lock", "create"));
        GuestState prev = guests.putIfAbsent(vmid, fresh);
        if (prev != null) {
            throw PveError.die(errorPrefix + prev.kind() + " " + vmid + " already exists on node '" + prev.node + "'");
        }
        return fresh;
    }

    void remove(int vmid) {
        guests.remove(vmid);
    }

    boolean taken(int vmid) {
        return guests.containsKey(vmid);
    }

    /** {@code GET /cluster/nextid}: lowest unused id in the next-id range; reserves nothing. */
    int nextId(boolean stale) {
        if (stale) {
            Optional<Integer> used = guests.keySet().stream().filter(id -> id >= nextIdLower).sorted().findFirst();
            if (used.isPresent()) {
                return used.get();
            }
        }
        for (int i = nextIdLower; i < nextIdUpper; i++) {
            if (!guests.containsKey(i)) {
                return i;
            }
        }
        throw PveError.die("unable to get any free VMID in range [" + nextIdLower + ", " + nextIdUpper + "]");
    }

    // ---- flocks ----------------------------------------------------------------------------------

    private Semaphore flock(int vmid) {
        return flocks.computeIfAbsent(vmid, id -> new Semaphore(1, true));
    }

    /** {@code lock_config_full}: run {@code body} holding the config flock, or PVE's timeout error. */
    <T> T withFlock(int vmid, Duration timeout, Supplier<T> body) {
        Semaphore s = flock(vmid);
        boolean got;
        try {
            got = s.tryAcquire(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PveError.die("interrupted");
        }
        if (!got) {
            throw PveError.die("can't lock file '/run/lock/lxc/pve-config-" + vmid + ".lock' - got timeout");
        }
        try {
            return body.get();
        } finally {
            s.release();
        }
    }

    void withFlock(int vmid, Duration timeout, Runnable body) {
        withFlock(vmid, timeout, () -> {
            body.run();
            return null;
        });
    }

    // ---- storages --------------------------------------------------------------------------------

    /** Adds a storage, e.g. {@code addStorage("local-lvm", "lvmthin", Set.of("rootdir", "images"), false)}. */
    public void addStorage(String id, String type, Set<String> content, boolean shared) {
        storages.put(id, new Storage(id, type, Set.copyOf(content), shared));
    }

    /** Puts a volume on a storage, e.g. a container template {@code local:vztmpl/debian-12.tar.zst}. */
    public void addVolume(String storage, Volume v) {
        Storage s = Objects.requireNonNull(storages.get(storage), () -> "no storage " + storage);
        s.volumes.put(v.volid(), v);
    }

    public List<Volume> volumes(String storage) {
        Storage s = storages.get(storage);
        return s == null ? List.of() : s.volumes.values().stream().sorted(java.util.Comparator.comparing(Volume::volid)).toList();
    }

    Storage storage(String id) {
        Storage s = storages.get(id);
        if (s == null) {
            throw PveError.die("storage '" + id + "' does not exist");
        }
        return s;
    }

    List<Storage> storages() {
        return storages.values().stream().sorted(java.util.Comparator.comparing(s -> s.id)).toList();
    }

    Optional<Volume> findVolume(String volid) {
        int colon = volid.indexOf(':');
        if (colon <= 0) {
            return Optional.empty();
        }
        Storage s = storages.get(volid.substring(0, colon));
        return s == null ? Optional.empty() : Optional.ofNullable(s.volumes.get(volid));
    }

    // ---- permissions ------------------------------------------------------------------------------

    /** Denies {@code privilege} on ACL {@code path} to every token, e.g. {@code deny("/vms/100", "VM.Allocate")}. */
    public void deny(String path, String privilege) {
        denied.add(path + "|" + privilege);
    }

    /** {@code $rpcenv->check($user, $path, [$priv])}. */
    void check(String path, String privilege) {
        if (denied.contains(path + "|" + privilege)) {
            throw PveError.perm(path + ", " + privilege);
        }
    }

    void requireNode(String node) {
        if (!nodes.contains(node)) {
            throw PveError.die("hostname lookup '" + node + "' failed - failed to get address info for: " + node
                    + ": Name or service not known");
        }
    }

    /** Guests as {@code vmid → node}, for resources listings. */
    Map<Integer, GuestState> guestStates() {
        return new LinkedHashMap<>(guests);
    }
}
