package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.CtConfigFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.BOOLEAN;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.INTEGER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.NUMBER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/**
 * {@code /nodes/{node}/lxc…} as pve-container's PVE/API2/LXC.pm, LXC/Config.pm and LXC/Status.pm answer:
 * synchronous checks (existence, locks, power state, VMID claim, permissions) before the fork, the rest
 * in the worker task, with PVE's messages. In memory "start" flips a flag; with a state directory the
 * work is real (template extraction, volumes, LXC), see {@link RealNode}.
 */
final class LxcHandlers {

    private static final String NODE = "/nodes/(?<node>[^/]+)";
    private static final String CT = NODE + "/lxc/(?<vmid>[^/]+)";
    private static final Pattern SIZE_ONLY = Pattern.compile("^(?:([a-zA-Z0-9][a-zA-Z0-9._-]*):)?(\\d+(?:\\.\\d+)?)$");
    private static final Pattern VOLUME = Pattern.compile("^([a-zA-Z0-9][a-zA-Z0-9._-]*):([^,]+)(.*)$");

    /** PVE::LXC::Config confdesc (the subset the emulator knows) plus indexed keys. */
    static ParamSchema configKeys() {
        return ParamSchema.of()
                .opt("arch", STRING).opt("cores", INTEGER, 1, 8192).opt("cpulimit", NUMBER)
                .opt("cpuunits", INTEGER, 0, 500_000).opt("memory", INTEGER, 16, Long.MAX_VALUE)
                .opt("swap", INTEGER, 0, Long.MAX_VALUE).opt("hostname", STRING).opt("description", STRING)
                .opt("tags", STRING).opt("onboot", BOOLEAN).opt("startup", STRING).opt("protection", BOOLEAN)
                .opt("template", BOOLEAN).opt("lock", STRING).opt("ostype", STRING).opt("console", BOOLEAN)
                .opt("tty", INTEGER, 0, 6).opt("cmode", STRING).opt("nameserver", STRING).opt("searchdomain", STRING)
                .opt("timezone", STRING).opt("unprivileged", BOOLEAN).opt("features", STRING).opt("hookscript", STRING)
                .opt("debug", BOOLEAN).opt("rootfs", STRING).opt("entrypoint", STRING).opt("env", STRING)
                .optPattern("net\\d+", STRING).optPattern("mp\\d+", STRING).optPattern("dev\\d+", STRING)
                .optPattern("unused\\d+", STRING);
    }

    private static ParamSchema ct() {
        return ParamSchema.of().req("node", STRING).req("vmid", INTEGER, 100, 999_999_999);
    }

    private final EmulatorConfig config;
    private final EmulatedCluster cluster;
    private final Faults faults;
    private final RealNode real;
    private final AtomicLong pids = new AtomicLong(40_000);

    LxcHandlers(EmulatorConfig config, EmulatedCluster cluster, Faults faults) {
        this.config = config;
        this.cluster = cluster;
        this.faults = faults;
        this.real = cluster.real();
    }

    void register(Router r) {
        r.route("GET", NODE + "/lxc", ParamSchema.of().req("node", STRING), this::list);
        r.route("POST", NODE + "/lxc", configKeys().req("node", STRING).req("vmid", INTEGER, 100, 999_999_999)
                .req("ostemplate", STRING).opt("storage", STRING).opt("password", STRING).opt("ssh-public-keys", STRING)
                .opt("start", BOOLEAN).opt("force", BOOLEAN).opt("restore", BOOLEAN).opt("unique", BOOLEAN)
                .opt("pool", STRING).opt("ignore-unpack-errors", BOOLEAN).opt("bwlimit", NUMBER).opt("ha-managed", BOOLEAN),
                this::create);
        r.route("GET", CT + "/config", ct().opt("current", BOOLEAN).opt("snapshot", STRING), this::getConfig);
        r.route("PUT", CT + "/config", configKeys().with(ct()).opt("delete", STRING).opt("revert", STRING)
                .opt("digest", STRING), this::putConfig);
        r.route("GET", CT + "/status/current", ct(), this::current);
        r.route("POST", CT + "/status/start", ct().opt("skiplock", BOOLEAN).opt("debug", BOOLEAN), this::start);
        r.route("POST", CT + "/status/stop", ct().opt("skiplock", BOOLEAN).opt("overrule-shutdown", BOOLEAN), this::stop);
        r.route("POST", CT + "/status/shutdown", ct().opt("timeout", INTEGER, 0, Long.MAX_VALUE).opt("forceStop", BOOLEAN),
                this::shutdown);
        r.route("POST", CT + "/clone", ct().req("newid", INTEGER, 100, 999_999_999).opt("hostname", STRING)
                .opt("description", STRING).opt("pool", STRING).opt("snapname", STRING).opt("storage", STRING)
                .opt("full", BOOLEAN).opt("target", STRING).opt("bwlimit", NUMBER), this::clone);
        r.route("POST", CT + "/template", ct(), this::template);
        r.route("DELETE", CT, ct().opt("force", BOOLEAN).opt("purge", BOOLEAN).opt("destroy-unreferenced-disks", BOOLEAN),
                this::destroy);
    }

    private GuestState load(Call c) {
        cluster.requireNode(c.node());
        return cluster.load(c.node(), c.vmid(), "lxc");
    }

    private Reply list(Call c) {
        cluster.requireNode(c.node());
        List<Map<String, Object>> out = new ArrayList<>();
        for (GuestState g : cluster.guestStates().values()) {
            if (g.node.equals(c.node()) && g.type.equals("lxc")) {
                cluster.observe(g);
                out.add(Shapes.lxcStatus(g, config.numbersAsStrings(), false));
            }
        }
        return Reply.of(out);
    }

    private Reply current(Call c) {
        GuestState g = load(c);
        cluster.observe(g);
        return Reply.of(Shapes.lxcStatus(g, config.numbersAsStrings(), true));
    }

    // ---- create ----------------------------------------------------------------------------------

    private Reply create(Call c) {
        cluster.requireNode(c.node());
        int vmid = c.vmid();
        cluster.check("/vms/" + vmid, "VM.Allocate");
        cluster.checkVmidUnused(vmid);
        Map<String, String> requested = configParams(c);
        boolean unprivileged = !"0".equals(requested.getOrDefault("unprivileged", "1"));
        if (!unprivileged) {
            cluster.check("/", "Sys.Modify"); // PVE 9: privileged CTs need Sys.Modify on /
        }
        Map<String, String> permissionParams = new LinkedHashMap<>(requested);
        if (c.param("rootfs") != null) {
            permissionParams.put("rootfs", c.param("rootfs"));
        }
        ConfigPermissions.check(cluster, vmid, null, permissionParams, List.of(), unprivileged);
        String ostemplate = c.param("ostemplate");
        if (ostemplate.equals("-")) {
            throw PveError.die("pipe requires cli environment");
        }
        if (ostemplate.startsWith("/")) {
            throw PveError.die("Only root can pass arbitrary filesystem paths.");
        }
        String storage = c.param("storage", "local");
        if (c.param("rootfs") == null && requested.keySet().stream().anyMatch(k -> k.matches("mp\\d+"))) {
            throw PveError.die("mount points configured, but 'rootfs' not set - aborting");
        }
        String rootfs = c.param("rootfs", storage + ":4");
        EmulatedCluster.Storage target = cluster.storage(rootfsStorage(rootfs, storage));
        cluster.check("/storage/" + target.id, "Datastore.AllocateSpace");
        if (!target.content.contains("rootdir")) {
            throw PveError.param("storage", "storage '" + target.id + "' does not support container directories");
        }
        cluster.withFlock(vmid, config.createLockTimeout(),
                () -> cluster.claim(vmid, c.node(), "unable to create CT " + vmid + " - "));
        boolean ignoreUnpackErrors = c.flag("ignore-unpack-errors", false);
        EmuTask task = cluster.tasks.fork(c.node(), "vzcreate", Integer.toString(vmid), c.user(), t -> cluster.withFlock(vmid,
                config.configLockTimeout(), () -> {
                    try {
                        createWorker(t, c.node(), vmid, c.param("ostemplate"), target, rootfs, requested, ignoreUnpackErrors);
                    } catch (PveError e) {
                        cluster.remove(vmid);
                        throw PveError.die("unable to create CT " + vmid + " - " + e.pveMessage);
                    }
                }));
        if (c.flag("start", false)) {
            // start=1 spawns a separate vzstart task whose UPID is not returned
            Thread.ofVirtual().start(() -> {
                while (task.running()) {
                    sleep(Duration.ofMillis(10));
                }
                GuestState now = cluster.state(vmid);
                if (now != null) {
                    forkStart(c.node(), now, c.user());
                }
            });
        }
        return Reply.of(task.upid);
    }

    private void createWorker(EmuTask t, String node, int vmid, String ostemplate, EmulatedCluster.Storage target, String rootfs,
                              Map<String, String> requested, boolean ignoreUnpackErrors) {
        if (real == null) {
            t.log("extracting archive '" + ostemplate + "'");
        }
        work(t);
        EmulatedCluster.Volume template = cluster.findVolume(ostemplate)
                .orElseThrow(() -> PveError.die("volume '" + ostemplate + "' does not exist"));
        String size = sizeGiB(rootfs);
        Map<String, String> detected = new LinkedHashMap<>();
        String volume;
        if (real != null) {
            boolean unprivileged = !"0".equals(requested.getOrDefault("unprivileged", "1"));
            int rootId = unprivileged ? 100_000 : 0;
            volume = real.volumes.allocate(target, vmid, (long) (Double.parseDouble(size) * (1L << 30)), rootId, rootId);
            try {
                Path dir = real.volumes.path(real.volumes.subvol(volume));
                Path archive = real.volumes.file(cluster.storage(template.volid().substring(0, template.volid().indexOf(':'))),
                        template.volid());
                TemplateArchives.extract(archive, dir, unprivileged, ignoreUnpackErrors, t::log);
                if (!requested.containsKey("arch")) {
                    detected.put("arch", TemplateArchives.architecture(dir, t::log));
                }
                if (!requested.containsKey("ostype")) {
                    detected.put("ostype", TemplateArchives.osType(dir, t::log));
                }
            } catch (RuntimeException e) {
                real.volumes.free(volume, List.of());
                throw e;
            }
        } else {
            volume = allocate(target, vmid, size);
        }
        String vol = volume;
        cluster.locked(vmid, node, "lxc", g -> {
            g.config.putAll(requested);
            g.config.putAll(detected);
            g.config.put("rootfs", vol + ",size=" + size + "G");
            g.config.putIfAbsent("arch", "amd64");
            g.config.putIfAbsent("hostname", "CT" + g.vmid);
            g.config.putIfAbsent("memory", "512");
            g.config.putIfAbsent("swap", "512");
            g.config.putIfAbsent("ostype", "debian");
            g.config.putIfAbsent("unprivileged", "1");
            hwaddrs(g);
            g.config.remove("lock");
            return null;
        });
        if (real == null) {
            t.log("Total bytes read: 134092800 (128MiB, 5.4MiB/s)");
            t.log("Detected container architecture: amd64");
            t.log("Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...");
        }
    }

    private Map<String, String> configParams(Call c) {
        Map<String, String> out = new LinkedHashMap<>();
        List<String> createOnly = List.of("node", "vmid", "ostemplate", "storage", "password", "ssh-public-keys", "start",
                "force", "restore", "unique", "pool", "ignore-unpack-errors", "bwlimit", "ha-managed", "rootfs");
        c.request().params().forEach((k, v) -> {
            if (!createOnly.contains(k) && !v.isEmpty()) {
                out.put(k, v.getLast());
            }
        });
        return out;
    }

    private static String rootfsStorage(String rootfs, String dflt) {
        Matcher m = SIZE_ONLY.matcher(rootfs.split(",")[0]);
        if (m.matches()) {
            return m.group(1) == null ? dflt : m.group(1);
        }
        Matcher v = VOLUME.matcher(rootfs);
        return v.matches() ? v.group(1) : dflt;
    }

    private static String sizeGiB(String rootfs) {
        Matcher m = SIZE_ONLY.matcher(rootfs.split(",")[0]);
        if (m.matches()) {
            return m.group(2);
        }
        Matcher s = Pattern.compile("size=(\\d+)G").matcher(rootfs);
        return s.find() ? s.group(1) : "4";
    }

    private String allocate(EmulatedCluster.Storage s, int vmid, String sizeGiB) {
        String name = s.type.equals("zfspool") ? "subvol-" + vmid + "-disk-" : "vm-" + vmid + "-disk-";
        int n = 0;
        while (s.volumes.containsKey(s.id + ":" + name + n)) {
            n++;
        }
        String volid = s.id + ":" + name + n;
        long bytes = (long) (Double.parseDouble(sizeGiB) * 1024 * 1024 * 1024);
        s.volumes.put(volid, new EmulatedCluster.Volume(volid, "rootdir", s.type.equals("zfspool") ? "subvol" : "raw", bytes,
                vmid, ""));
        return volid;
    }

    private static void hwaddrs(GuestState g) {
        for (var e : new ArrayList<>(g.config.entrySet())) {
            if (e.getKey().matches("net\\d+")) {
                String v = e.getValue().replaceAll(",?hwaddr=[0-9A-Fa-f:]+", "");
                byte[] b = new byte[3];
                ThreadLocalRandom.current().nextBytes(b);
                String mac = "BC:24:11:" + HexFormat.ofDelimiter(":").withUpperCase().formatHex(b);
                int comma = v.indexOf(',');
                String first = comma < 0 ? v : v.substring(0, comma);
                String rest = comma < 0 ? "" : v.substring(comma);
                g.config.put(e.getKey(), first + ",hwaddr=" + mac + rest + (v.contains("type=") ? "" : ",type=veth"));
            }
        }
    }

    // ---- config ----------------------------------------------------------------------------------

    private Reply getConfig(Call c) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, "VM.Audit");
        synchronized (g) {
            Map<String, Object> m = new LinkedHashMap<>();
            g.config.forEach((k, v) -> m.put(k, v.matches("-?\\d+") && !k.equals("hostname") && !k.equals("tags")
                    && !k.equals("description") ? (Object) Long.parseLong(v) : v));
            List<Map.Entry<String, String>> raw = g.rawLxc();
            if (!raw.isEmpty()) {
                m.put("lxc", raw.stream().map(e -> List.of(e.getKey(), e.getValue())).toList());
            }
            m.put("digest", g.digest());
            return Reply.of(m);
        }
    }

    private Reply putConfig(Call c) {
        cluster.requireNode(c.node());
        int vmid = c.vmid();
        Map<String, String> set = configParams(c);
        set.remove("delete");
        set.remove("revert");
        set.remove("digest");
        List<String> delete = c.param("delete") == null ? List.of() : List.of(c.param("delete").split("[,;\\s]+"));
        if (set.isEmpty() && delete.isEmpty()) {
            throw PveError.die("no options specified");
        }
        GuestState before = load(c);
        Map<String, String> old;
        synchronized (before) {
            old = Map.copyOf(before.config);
        }
        ConfigPermissions.check(cluster, vmid, old, set, delete, "1".equals(old.get("unprivileged")));
        cluster.update(vmid, config.configLockTimeout(), c.node(), "lxc", g -> {
            g.checkLock();
            String digest = c.param("digest");
            if (digest != null && !digest.isEmpty() && !digest.equals(g.digest())) {
                throw PveError.die("detected modified configuration - file changed by other user? Try again.");
            }
            if (set.containsKey("unprivileged") && !set.get("unprivileged").equals(g.config.getOrDefault("unprivileged", "0"))) {
                throw PveError.die("unable to modify read-only option: 'unprivileged'");
            }
            for (String k : delete) {
                if (List.of("memory", "rootfs", "ostype").contains(k)) {
                    throw PveError.die("unable to delete required option '" + k + "'");
                }
            }
            delete.forEach(g.config::remove);
            g.config.putAll(set);
            hwaddrsForNew(g, set);
            return null;
        });
        return Reply.none();
    }

    private static void hwaddrsForNew(GuestState g, Map<String, String> set) {
        boolean missing = set.entrySet().stream().anyMatch(e -> e.getKey().matches("net\\d+") && !e.getValue().contains("hwaddr="));
        if (missing) {
            hwaddrs(g);
        }
    }

    // ---- power -----------------------------------------------------------------------------------

    private Reply start(Call c) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, "VM.PowerMgmt");
        cluster.observe(g);
        synchronized (g) {
            if (g.running) {
                throw PveError.die("CT " + g.vmid + " already running");
            }
        }
        return Reply.of(forkStart(c.node(), g, c.user()).upid);
    }

    private EmuTask forkStart(String node, GuestState g0, String user) {
        int vmid = g0.vmid;
        return cluster.tasks.fork(node, "vzstart", Integer.toString(vmid), user, t -> cluster.withFlock(vmid,
                config.configLockTimeout(), () -> {
                    GuestState g = cluster.load(node, vmid, "lxc");
                    synchronized (g) {
                        if (g.template()) {
                            throw PveError.die("you can't start a CT if it's a template");
                        }
                        if (g.lock() != null && !g.lock().equals("mounted")) {
                            g.checkLock();
                        }
                    }
                    work(t);
                    cluster.observe(g);
                    synchronized (g) {
                        if (g.running) {
                            throw PveError.die("CT " + g.vmid + " already running");
                        }
                    }
                    if (real != null) {
                        real.runner.start(t, g);
                        cluster.observe(g);
                        return;
                    }
                    synchronized (g) {
                        g.running = true;
                        g.pid = pids.incrementAndGet();
                        g.startedAtMillis = System.currentTimeMillis();
                    }
                }));
    }

    private Reply stop(Call c) {
        GuestState g = requireRunning(c, "VM.PowerMgmt");
        String node = c.node();
        EmuTask task = cluster.tasks.fork(node, "vzstop", Integer.toString(g.vmid), c.user(), t -> cluster.withFlock(g.vmid,
                config.configLockTimeout(), () -> {
                    work(t);
                    if (real != null) {
                        real.runner.kill(g.vmid);
                        cluster.observe(g);
                        return;
                    }
                    markStopped(g);
                }));
        return Reply.of(task.upid);
    }

    private Reply shutdown(Call c) {
        GuestState g = requireRunning(c, "VM.PowerMgmt");
        int timeout = c.integer("timeout", 60);
        boolean force = c.flag("forceStop", false);
        EmuTask task = cluster.tasks.fork(c.node(), "vzshutdown", Integer.toString(g.vmid), c.user(), t -> {
            // vm_stop holds the flock for the whole shutdown (timeout + 5 s)
            Duration wait = config.configLockTimeout();
            cluster.withFlock(g.vmid, wait, () -> shutdownLocked(t, g, timeout, force));
        });
        return Reply.of(task.upid);
    }

    private void shutdownLocked(EmuTask t, GuestState g, int timeout, boolean force) {
        work(t);
        if (real != null) {
            real.runner.shutdown(t, g.vmid, timeout, force);
            cluster.observe(g);
            return;
        }
        boolean ignores;
        synchronized (g) {
            ignores = g.ignoreShutdown;
        }
        if (ignores) {
            sleep(Duration.ofSeconds(timeout));
            if (!force) {
                throw PveError.die("container did not stop");
            }
            t.log("container did not stop within " + timeout + " seconds, killing it");
        }
        markStopped(g);
    }

    private GuestState requireRunning(Call c, String privilege) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, privilege);
        cluster.observe(g);
        synchronized (g) {
            if (!g.running) {
                throw PveError.die("CT " + g.vmid + " not running");
            }
        }
        return g;
    }

    private static void markStopped(GuestState g) {
        synchronized (g) {
            g.running = false;
            g.pid = 0;
        }
    }

    // ---- clone / template / destroy --------------------------------------------------------------

    private Reply clone(Call c) {
        GuestState src = load(c);
        int srcId = src.vmid;
        int newid = c.integer("newid", 0);
        cluster.check("/vms/" + srcId, "VM.Clone");
        cluster.check("/vms/" + newid, "VM.Allocate");
        cluster.observe(src);
        boolean template;
        boolean running;
        String rootfs;
        Map<String, String> srcConf;
        synchronized (src) {
            template = src.template();
            running = src.running;
            rootfs = src.config.getOrDefault("rootfs", "local-zfs:subvol-" + srcId + "-disk-0,size=4G");
            srcConf = Map.copyOf(src.config);
        }
        boolean full = c.flag("full", !template);
        if (c.param("storage") != null && !full) {
            throw PveError.die("parameter 'storage' not allowed for linked clones");
        }
        if (full && running) {
            throw PveError.die("Full clone of a running container is only possible from a snapshot");
        }
        String srcVolume = rootfs.split(",")[0];
        String srcStorage = srcVolume.contains(":") ? srcVolume.substring(0, srcVolume.indexOf(':')) : "local";
        if (!full && (!template || !cluster.storage(srcStorage).linkedClones())) {
            throw PveError.die("Linked clone feature for '" + srcVolume + "' is not available");
        }
        for (var e : srcConf.entrySet()) {
            if (e.getKey().matches("mp\\d+")) {
                String v = LxcConfigGenerator.propertyString(e.getValue(), "volume").getOrDefault("volume", "");
                if (v.startsWith("/")) {
                    throw PveError.die("unable to clone mountpoint '" + e.getKey() + "' (type " + (v.startsWith("/dev/") ? "device" : "bind") + ")");
                }
            }
        }
        // set_lock($vmid, 'disk') on the source, then create_and_lock_config($newid)
        cluster.update(srcId, config.configLockTimeout(), c.node(), "lxc", s -> {
            s.checkLock();
            s.config.put("lock", "disk");
            return null;
        });
        try {
            cluster.checkVmidUnused(newid);
            cluster.withFlock(newid, config.createLockTimeout(), () -> cluster.claim(newid, c.node(), ""));
        } catch (PveError e) {
            removeLock(c.node(), srcId, "disk");
            throw e;
        }
        String hostname = c.param("hostname");
        String description = c.param("description");
        String targetStorage = c.param("storage", srcStorage);
        String node = c.node();
        EmuTask task = cluster.tasks.fork(node, "vzclone", Integer.toString(srcId), c.user(), t -> {
            AtomicReference<String> created = new AtomicReference<>();
            try {
                t.log("create " + (full ? "full" : "linked") + " clone of mountpoint rootfs (" + srcVolume + ")");
                work(t);
                Map<String, String> copy = new LinkedHashMap<>();
                String srcText;
                GuestState s = cluster.load(node, srcId, "lxc");
                synchronized (s) {
                    copy.putAll(s.config);
                    srcText = s.fileText;
                }
                copy.remove("lock");
                copy.remove("template");
                String size = sizeGiB(rootfs);
                String volid = cloneVolume(srcVolume, srcStorage, targetStorage, full, newid, size);
                created.set(volid);
                copy.put("rootfs", volid + ",size=" + size + "G");
                if (hostname != null) {
                    copy.put("hostname", hostname);
                }
                if (description != null) {
                    copy.put("description", description);
                }
                cluster.withFlock(newid, config.configLockTimeout(), () -> cluster.locked(newid, node, "lxc", dst -> {
                    if (!"create".equals(dst.lock())) {
                        throw PveError.die("Lost 'create' config lock, aborting.");
                    }
                    if (srcText != null) {
                        // the new config starts from the source's file: its raw lxc.* entries come along, sections do not
                        int section = srcText.indexOf("\n[");
                        dst.file = CtConfigFile.parse(section < 0 ? srcText : srcText.substring(0, section + 1));
                    }
                    dst.config.clear();
                    dst.config.putAll(copy);
                    hwaddrs(dst);
                    return null;
                }));
            } catch (Exception e) {
                if (created.get() != null) {
                    freeQuietly(t, created.get());
                }
                cluster.withFlock(newid, config.configLockTimeout(), () -> cluster.remove(newid));
                throw e;
            } finally {
                removeLock(node, srcId, "disk");
            }
        });
        return Reply.of(task.upid);
    }

    private String cloneVolume(String srcVolume, String srcStorage, String targetStorage, boolean full, int newid, String size)
            throws Exception {
        if (real != null) {
            if (!full) {
                return real.volumes.linkedClone(srcVolume, newid);
            }
            Path scratch = Files.createTempDirectory(real.root.resolve("var/lib/lxc"), ".clone-" + newid + "-");
            try {
                return real.volumes.fullCopy(srcVolume, cluster.storage(targetStorage), newid, scratch);
            } finally {
                Files.deleteIfExists(scratch);
            }
        }
        if (full) {
            return allocate(cluster.storage(targetStorage), newid, size);
        }
        String base = srcVolume.substring(srcVolume.indexOf(':') + 1);
        String volid = srcStorage + ":" + base + "/subvol-" + newid + "-disk-0";
        cluster.storage(srcStorage).volumes.put(volid, new EmulatedCluster.Volume(volid, "rootdir", "subvol",
                (long) (Double.parseDouble(size) * (1L << 30)), newid, srcVolume));
        return volid;
    }

    private void freeQuietly(EmuTask t, String volid) {
        try {
            if (real != null) {
                real.volumes.free(volid, List.of());
            } else {
                cluster.storage(volid.substring(0, volid.indexOf(':'))).volumes.remove(volid);
            }
        } catch (RuntimeException e) {
            t.log("unable to free '" + volid + "': " + e.getMessage());
        }
    }

    /** {@code remove_lock($vmid, $lock)} under the flock. */
    private void removeLock(String node, int vmid, String lock) {
        try {
            cluster.update(vmid, config.configLockTimeout(), node, "lxc", s -> {
                if (lock.equals(s.lock())) {
                    s.config.remove("lock");
                }
                return null;
            });
        } catch (PveError e) {
            // the source vanished or its lock cannot be had: nothing more to undo here
        }
    }

    private Reply template(Call c) {
        cluster.requireNode(c.node());
        int vmid = c.vmid();
        cluster.check("/vms/" + vmid, "VM.Allocate");
        String node = c.node();
        cluster.withFlock(vmid, config.configLockTimeout(), () -> {
            GuestState g = load(c);
            cluster.observe(g);
            synchronized (g) {
                g.checkLock();
                if (g.template()) {
                    throw PveError.die("you can't convert a template to a template");
                }
                if (g.running) {
                    throw PveError.die("you can't convert a CT to template if the CT is running");
                }
            }
            cluster.tasks.fork(node, "vztemplate", Integer.toString(vmid), c.user(), t -> cluster.withFlock(vmid,
                    config.configLockTimeout(), () -> {
                        work(t);
                        if (real != null) {
                            real.runner.cleanup(vmid);
                        }
                        cluster.locked(vmid, node, "lxc", s -> {
                            for (String key : ConfigPermissions.volumeKeys(s.config)) {
                                String value = s.config.get(key);
                                String volid = value.split(",")[0];
                                String base = real != null && DiskVolumes.parse(volid).isPresent()
                                        ? real.volumes.toBase(volid)
                                        : volid.replace("subvol-" + vmid + "-disk-", "basevol-" + vmid + "-disk-")
                                                .replace(":vm-" + vmid + "-disk-", ":base-" + vmid + "-disk-");
                                if (real == null) {
                                    renameInMemory(volid, base);
                                }
                                s.config.put(key, base + value.substring(volid.length()));
                            }
                            s.config.put("template", "1");
                            return null;
                        });
                        if (real != null) {
                            real.runner.removeConfig(vmid);
                        }
                    }));
        });
        return Reply.none(); // PVE returns null although it forked a worker
    }

    private void renameInMemory(String volid, String base) {
        int colon = volid.indexOf(':');
        if (colon <= 0 || volid.equals(base)) {
            return;
        }
        EmulatedCluster.Storage s = cluster.storage(volid.substring(0, colon));
        EmulatedCluster.Volume v = s.volumes.remove(volid);
        if (v != null) {
            s.volumes.put(base, new EmulatedCluster.Volume(base, v.content(), v.format(), v.size(), v.vmid(), v.parent()));
        }
    }

    private Reply destroy(Call c) {
        GuestState g = load(c);
        int vmid = g.vmid;
        String node = c.node();
        boolean force = c.flag("force", false);
        cluster.check("/vms/" + vmid, "VM.Allocate");
        cluster.observe(g);
        synchronized (g) {
            earlyDestroyChecks(g);
            if (g.running && !force) {
                throw PveError.die("unable to destroy CT " + vmid + " - container is running");
            }
        }
        EmuTask task = cluster.tasks.fork(node, "vzdestroy", Integer.toString(vmid), c.user(), t -> cluster.withFlock(vmid,
                config.configLockTimeout(), () -> {
                    GuestState s = cluster.load(node, vmid, "lxc");
                    cluster.observe(s);
                    synchronized (s) {
                        earlyDestroyChecks(s);
                        if (s.running && !force) {
                            throw PveError.die("unable to destroy CT " + vmid + " - container is running");
                        }
                    }
                    if (s.running) {
                        t.log("forced to stop CT " + vmid + " before destroying!");
                        if (real != null) {
                            real.runner.kill(vmid);
                        }
                    }
                    markStopped(s);
                    work(t);
                    Map<String, String> conf;
                    synchronized (s) {
                        conf = Map.copyOf(s.config);
                    }
                    destroyVolumes(vmid, conf);
                    if (real != null) {
                        real.runner.removeAll(vmid);
                        // destroy_lxc_container leaves a config holding only "lock: destroyed" until the very end
                        cluster.locked(vmid, node, "lxc", d -> {
                            d.config.clear();
                            d.config.put("lock", "destroyed");
                            d.file = null;
                            return null;
                        });
                    }
                    t.log("purging CT " + vmid + " from related configurations..");
                    cluster.remove(vmid);
                }));
        return Reply.of(task.upid);
    }

    private static void earlyDestroyChecks(GuestState g) {
        if ("1".equals(g.config.get("protection"))) {
            throw PveError.die("can't remove CT " + g.vmid + " - protection mode enabled");
        }
        g.checkLock();
    }

    /** {@code destroy_lxc_container}'s volume part: every volume of the config (rootfs, mpN, unusedN) freed. */
    private void destroyVolumes(int vmid, Map<String, String> conf) {
        List<String> volids = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        if (conf.containsKey("rootfs")) {
            keys.add("rootfs"); // foreach_volume: rootfs first
        }
        conf.keySet().stream().filter(k -> k.matches("mp\\d+") || k.matches("unused\\d+")).sorted().forEach(keys::add);
        for (String k : keys) {
            String v = LxcConfigGenerator.propertyString(conf.get(k), "volume").getOrDefault("volume", "");
            if (!v.isEmpty() && !v.startsWith("/") && !volids.contains(v)) {
                volids.add(v);
            }
        }
        for (String volid : volids) {
            int colon = volid.indexOf(':');
            if (colon <= 0) {
                continue;
            }
            EmulatedCluster.Storage s = cluster.storage(volid.substring(0, colon));
            List<String> onStorage = cluster.volumes(s.id).stream().map(EmulatedCluster.Volume::volid).toList();
            if (real != null && DiskVolumes.parse(volid).isPresent()) {
                if (real.volumes.exists(volid)) {
                    real.volumes.free(volid, onStorage);
                }
                continue;
            }
            String prefix = volid + "/";
            if (onStorage.stream().anyMatch(x -> x.startsWith(prefix))) {
                throw PveError.die("base volume '" + volid.substring(colon + 1) + "' is still in use by linked clones");
            }
            s.volumes.remove(volid);
        }
        if (real == null) {
            // in memory: a volume the config does not name but that belongs to the CT goes too
            for (EmulatedCluster.Storage s : cluster.storages()) {
                s.volumes.values().removeIf(v -> v.vmid() == vmid && v.content().equals("rootdir"));
            }
        }
    }

    /** The worker's "work": its configured duration, then an injected failure if any. */
    private void work(EmuTask t) {
        sleep(faults.taskDuration(t.type).orElse(config.taskDuration()));
        faults.taskFailure(t.type).ifPresent(msg -> {
            throw PveError.die(msg);
        });
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw PveError.die("received interrupt");
        }
    }
}
