package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.CtConfigFile;
import io.pvecri.proxmox.node.CtConfigLock;
import io.pvecri.proxmox.node.NodeFiles;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The emulated cluster's state: nodes, guests (VMID → config with digest, power state), the per-VMID
 * config flocks ({@code /run/lock/lxc/pve-config-<vmid>.lock}), storages with volumes, tasks, and ACL
 * denials. Handlers and tests share it; every method is thread-safe.
 *
 * <p>The VMID claim is atomic (a {@code putIfAbsent}), as pmxcfs refuses to create a second
 * {@code <vmid>.conf} anywhere in the cluster; {@code nextid} reserves nothing, as in PVE.
 *
 * <p>With a state directory ({@link EmulatorConfig#stateDir()}) the cluster is "real": guest configs are
 * files in PVE's format, re-read before every use and written (atomically, under the real
 * {@code flock}) after every change, so another process editing them under the same lock is seen;
 * storages are directories; CTs run with local LXC.
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
    private final Set<Denial> denied = ConcurrentHashMap.newKeySet();
    private final int nextIdLower;
    private final int nextIdUpper;
    private final RealNode real;
    final TaskRegistry tasks;

    EmulatedCluster(List<String> nodes, int nextIdLower, int nextIdUpper, long pstartBase, Path stateDir) {
        this.nodes = List.copyOf(nodes);
        this.nextIdLower = nextIdLower;
        this.nextIdUpper = nextIdUpper;
        if (stateDir != null) {
            real = new RealNode(stateDir, nodes);
            real.prepare();
        } else {
            real = null;
        }
        this.tasks = new TaskRegistry(pstartBase, real == null ? null : real.taskDir);
        addStorage("local", "dir", Set.of("vztmpl", "iso", "backup", "import"), false);
        addStorage("local-zfs", "zfspool", Set.of("rootdir", "images"), false);
        if (real != null) {
            syncAll();
        }
    }

    public List<String> nodes() {
        return nodes;
    }

    /** The on-node paths of a real cluster (state directory), as pve-cri's proxmox backend reads them. */
    public Optional<NodeFiles> nodeFiles() {
        return real == null ? Optional.empty() : Optional.of(real.nodeFiles());
    }

    /** The state directory of a real cluster. */
    public Optional<Path> stateDir() {
        return real == null ? Optional.empty() : Optional.of(real.root);
    }

    boolean isReal() {
        return real != null;
    }

    RealNode real() {
        return real;
    }

    // ---- guests -------------------------------------------------------------------------------

    public Optional<Guest> guest(int vmid) {
        GuestState g = real != null ? sync(vmid) : guests.get(vmid);
        if (g == null) {
            return Optional.empty();
        }
        observe(g);
        synchronized (g) {
            return Optional.of(new Guest(g.vmid, g.node, g.type, Map.copyOf(g.config), g.running, g.digest()));
        }
    }

    public List<Guest> guests() {
        if (real != null) {
            syncAll();
        }
        List<Guest> out = new ArrayList<>();
        for (Integer id : guests.keySet().stream().sorted().toList()) {
            guest(id).ifPresent(out::add);
        }
        return out;
    }

    /** Seeds a guest (LXC {@code lxc} or QEMU {@code qemu}) directly, bypassing the API. */
    public void putGuest(int vmid, String node, String type, Map<String, String> config) {
        requireNode(node);
        if (real != null) {
            CtConfigFile f = new CtConfigFile();
            config.forEach(f::set);
            real.files.write(node, type, vmid, f);
            sync(vmid);
            return;
        }
        guests.put(vmid, new GuestState(vmid, type, node, config));
    }

    /** Sets (or with null clears) the {@code lock:} config property, e.g. {@code disk}. */
    public void setLock(int vmid, String lock) {
        GuestState g = Objects.requireNonNull(real != null ? sync(vmid) : guests.get(vmid), () -> "no guest " + vmid);
        update(vmid, Duration.ofSeconds(10), g.node, g.type, s -> {
            if (lock == null) {
                s.config.remove("lock");
            } else {
                s.config.put("lock", lock);
            }
            return null;
        });
    }

    /** Makes the guest ignore clean shutdown requests (a payload that traps SIGTERM); in-memory guests only. */
    public void ignoreShutdown(int vmid, boolean ignore) {
        GuestState g = Objects.requireNonNull(real != null ? sync(vmid) : guests.get(vmid), () -> "no guest " + vmid);
        synchronized (g) {
            g.ignoreShutdown = ignore;
        }
    }

    /** Holds the config flock of {@code vmid} for {@code d} on a background thread (a slow concurrent worker). */
    public void holdConfigFlock(int vmid, Duration d) throws InterruptedException {
        if (real != null) {
            CtConfigLock.Held held;
            try {
                held = real.files.lock().acquire(vmid, Duration.ofSeconds(30));
            } catch (IOException e) {
                throw new IllegalStateException("cannot take the flock of " + vmid + ": " + e.getMessage(), e);
            }
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(d);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                } finally {
                    held.close();
                }
            });
            return;
        }
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
        return real != null ? sync(vmid) : guests.get(vmid);
    }

    /** {@code PVE::AbstractConfig::load_config}: the guest on {@code node}, or PVE's "does not exist". */
    GuestState load(String node, int vmid, String kind) {
        GuestState g = real != null ? sync(vmid) : guests.get(vmid);
        if (g == null || !g.node.equals(node) || !g.type.equals(kind)) {
            throw PveError.die("Configuration file 'nodes/" + node + "/" + (kind.equals("qemu") ? "qemu-server" : "lxc")
                    + "/" + vmid + ".conf' does not exist");
        }
        return g;
    }

    /**
     * A config change as PVE makes one: under the config flock, the config (re-)loaded, {@code change}
     * applied, the config written. Returns what {@code change} returns.
     */
    <T> T update(int vmid, Duration timeout, String node, String kind, Function<GuestState, T> change) {
        return withFlock(vmid, timeout, () -> locked(vmid, node, kind, change));
    }

    /** The same for a caller that already holds the flock (a worker). */
    <T> T locked(int vmid, String node, String kind, Function<GuestState, T> change) {
        GuestState g = load(node, vmid, kind);
        synchronized (g) {
            T result = change.apply(g);
            save(g);
            return result;
        }
    }

    /** Writes a (real) guest's config if it changed; hold the flock. */
    void save(GuestState g) {
        if (real == null) {
            return;
        }
        synchronized (g) {
            CtConfigFile f = g.toFile();
            String text = f.render();
            if (text.equals(g.fileText)) {
                return;
            }
            String written = real.files.write(g.node, g.type, g.vmid, f);
            g.load(CtConfigFile.parse(written), written);
        }
    }

    /** {@code PVE::Cluster::check_vmid_unused}. */
    void checkVmidUnused(int vmid) {
        GuestState g = real != null ? sync(vmid) : guests.get(vmid);
        if (g != null) {
            throw PveError.die(g.kind() + " " + vmid + " already exists on node '" + g.node + "'");
        }
    }

    /** The atomic claim of {@code create_and_lock_config}: writes the config with {@code lock: create}. */
    GuestState claim(int vmid, String node, String errorPrefix) {
        if (real != null) {
            CtConfigFile f = new CtConfigFile();
            f.set("lock", "create");
            if (!real.files.create(node, "lxc", vmid, f)) {
                GuestState prev = sync(vmid);
                throw PveError.die(errorPrefix + (prev == null ? "CT" : prev.kind()) + " " + vmid + " already exists on node '"
                        + (prev == null ? node : prev.node) + "'");
            }
            return sync(vmid);
        }
        GuestState fresh = new GuestState(vmid, "lxc", node, Map.of("lock", "create"));
        GuestState prev = guests.putIfAbsent(vmid, fresh);
        if (prev != null) {
            throw PveError.die(errorPrefix + prev.kind() + " " + vmid + " already exists on node '" + prev.node + "'");
        }
        return fresh;
    }

    /** {@code destroy_config}: the guest is gone (its config file deleted). */
    void remove(int vmid) {
        if (real != null) {
            GuestState g = guests.get(vmid);
            Optional<ConfigFiles.Read> r = real.files.read(vmid);
            r.ifPresent(x -> real.files.delete(x.node(), x.type(), vmid));
            if (g != null) {
                synchronized (g) {
                    g.fileText = null;
                }
            }
        }
        guests.remove(vmid);
    }

    boolean taken(int vmid) {
        return (real != null ? sync(vmid) : guests.get(vmid)) != null;
    }

    /** {@code GET /cluster/nextid}: lowest unused id in the next-id range; reserves nothing. */
    int nextId(boolean stale) {
        if (real != null) {
            syncAll();
        }
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

    // ---- the files (real mode) -------------------------------------------------------------------

    /** Re-reads one guest's config file; null (and forgotten) when it has none. */
    private GuestState sync(int vmid) {
        GuestState g = guests.get(vmid);
        if (g != null) {
            synchronized (g) {
                Optional<ConfigFiles.Read> r = real.files.read(vmid);
                if (r.isPresent() && r.get().type().equals(g.type)) {
                    g.node = r.get().node();
                    g.load(r.get().file(), r.get().text());
                    return g;
                }
                if (r.isEmpty()) {
                    guests.remove(vmid, g);
                    return null;
                }
            }
        }
        Optional<ConfigFiles.Read> r = real.files.read(vmid);
        if (r.isEmpty()) {
            return null;
        }
        GuestState fresh = new GuestState(vmid, r.get().type(), r.get().node(), Map.of());
        fresh.load(r.get().file(), r.get().text());
        GuestState prev = g;
        GuestState now = guests.compute(vmid, (k, cur) -> cur == null || cur == prev ? fresh : cur);
        return now == fresh ? fresh : sync(vmid);
    }

    /** Re-reads every config file. */
    private void syncAll() {
        Map<Integer, ConfigFiles.Read> onDisk = real.files.scan();
        for (Integer id : List.copyOf(guests.keySet())) {
            if (!onDisk.containsKey(id)) {
                sync(id);
            }
        }
        for (Integer id : onDisk.keySet()) {
            sync(id);
        }
    }

    /**
     * Brings a guest's power state up to date: real CTs from LXC ({@code lxc-info}); a CT whose init has
     * exited is stopped, and its rootfs is unmounted here when no worker holds its flock.
     */
    void observe(GuestState g) {
        if (real == null || !g.type.equals("lxc")) {
            return;
        }
        LxcRunner.Observed o = real.runner.observe(g.vmid);
        synchronized (g) {
            g.running = o.running();
            g.pid = o.pid();
            g.startedAtMillis = o.startedAtMillis();
            g.memUsed = o.memUsed();
        }
        if (!o.running() && real.runner.mounted(g.vmid)) {
            try {
                Optional<CtConfigLock.Held> held = real.files.lock().tryAcquire(g.vmid);
                if (held.isPresent()) {
                    try (CtConfigLock.Held h = held.get()) {
                        if (!real.runner.observe(g.vmid).running()) {
                            real.runner.cleanup(g.vmid);
                        }
                    }
                }
            } catch (IOException | RuntimeException e) {
                System.getLogger(EmulatedCluster.class.getName()).log(System.Logger.Level.WARNING,
                        "emulator: cleanup of stopped CT " + g.vmid + " failed: " + e.getMessage());
            }
        }
    }

    // ---- flocks ----------------------------------------------------------------------------------

    private Semaphore flock(int vmid) {
        return flocks.computeIfAbsent(vmid, id -> new Semaphore(1, true));
    }

    /** {@code lock_config_full}: run {@code body} holding the config flock, or PVE's timeout error. */
    <T> T withFlock(int vmid, Duration timeout, Supplier<T> body) {
        if (real != null) {
            try (CtConfigLock.Held ignored = real.files.lock().acquire(vmid, timeout)) {
                return body.get();
            } catch (CtConfigLock.TimeoutException e) {
                throw PveError.die(e.getMessage());
            } catch (IOException e) {
                throw PveError.die("can't lock file '" + real.files.lock().file(vmid) + "' - " + e.getMessage());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw PveError.die("received interrupt");
            }
        }
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
        Storage s = new Storage(id, type, Set.copyOf(content), shared);
        if (real != null) {
            real.volumes.prepare(s);
        }
        storages.put(id, s);
    }

    /** Puts a volume on a storage, e.g. a container template {@code local:vztmpl/debian-12.tar.zst} (in-memory only). */
    public void addVolume(String storage, Volume v) {
        if (real != null) {
            throw new IllegalStateException("with a state directory, volumes are files: upload a template, or put it into "
                    + real.volumes.dir(storage));
        }
        Storage s = Objects.requireNonNull(storages.get(storage), () -> "no storage " + storage);
        s.volumes.put(v.volid(), v);
    }

    public List<Volume> volumes(String storage) {
        Storage s = storages.get(storage);
        if (s == null) {
            return List.of();
        }
        if (real != null) {
            return real.volumes.scan(s);
        }
        return s.volumes.values().stream().sorted(Comparator.comparing(Volume::volid)).toList();
    }

    Storage storage(String id) {
        Storage s = storages.get(id);
        if (s == null) {
            throw PveError.die("storage '" + id + "' does not exist");
        }
        return s;
    }

    List<Storage> storages() {
        return storages.values().stream().sorted(Comparator.comparing(s -> s.id)).toList();
    }

    Optional<Volume> findVolume(String volid) {
        int colon = volid.indexOf(':');
        if (colon <= 0) {
            return Optional.empty();
        }
        Storage s = storages.get(volid.substring(0, colon));
        if (s == null) {
            return Optional.empty();
        }
        if (real != null) {
            return real.volumes.scan(s).stream().filter(v -> v.volid().equals(volid)).findFirst();
        }
        return Optional.ofNullable(s.volumes.get(volid));
    }

    // ---- permissions ------------------------------------------------------------------------------

    /**
     * Denies {@code privilege} to every token on ACL {@code path} and every path below it (PVE ACLs
     * propagate), e.g. {@code deny("/vms/100", "VM.Allocate")}; {@code deny("/vms", "VM.Clone")} denies it on
     * every guest.
     */
    public void deny(String path, String privilege) {
        denied.add(new Denial(path, privilege));
    }

    private record Denial(String path, String privilege) {
    }

    /**
     * The privileges a token holds on {@code path}, as {@code GET /access/permissions} reports them: the
     * {@code Administrator} role on {@code /}, less every privilege denied on {@code path} or above it.
     */
    public Set<String> privileges(String path) {
        Set<String> out = new java.util.TreeSet<>(Privileges.ADMINISTRATOR);
        for (Denial d : denied) {
            if (Privileges.covers(d.path(), path)) {
                out.remove(d.privilege());
            }
        }
        return java.util.Collections.unmodifiableSet(out);
    }

    /** The paths {@code GET /access/permissions} lists without {@code path}: PVE's top-level ones and those with ACL entries. */
    List<String> aclPaths() {
        java.util.TreeSet<String> out = new java.util.TreeSet<>(Privileges.TOP_LEVEL_PATHS);
        denied.forEach(d -> out.add(d.path()));
        return List.copyOf(out);
    }

    /** {@code $rpcenv->check($user, $path, [$priv])}: agrees with {@link #privileges(String)}. */
    void check(String path, String privilege) {
        if (!privileges(path).contains(privilege)) {
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
        if (real != null) {
            syncAll();
        }
        Map<Integer, GuestState> out = new LinkedHashMap<>();
        guests.keySet().stream().sorted().forEach(id -> {
            GuestState g = guests.get(id);
            if (g != null) {
                out.put(id, g);
            }
        });
        return out;
    }
}
