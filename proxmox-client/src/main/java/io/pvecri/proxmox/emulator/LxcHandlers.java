package io.pvecri.proxmox.emulator;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.BOOLEAN;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.INTEGER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.NUMBER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/**
 * {@code /nodes/{node}/lxc…} as pve-container's PVE/API2/LXC.pm, LXC/Config.pm and LXC/Status.pm answer:
 * synchronous checks (existence, locks, power state, VMID claim) before the fork, the rest in the worker
 * task, with PVE's messages. Guests are in memory: "start" flips a flag.
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
    private final AtomicLong pids = new AtomicLong(40_000);

    LxcHandlers(EmulatorConfig config, EmulatedCluster cluster, Faults faults) {
        this.config = config;
        this.cluster = cluster;
        this.faults = faults;
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
        r.route("GET", CT + "/status/current", ct(), c -> Reply.of(Shapes.lxcStatus(load(c), config.numbersAsStrings(), true)));
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
                out.add(Shapes.lxcStatus(g, config.numbersAsStrings(), false));
            }
        }
        return Reply.of(out);
    }

    // ---- create ----------------------------------------------------------------------------------

    private Reply create(Call c) {
        cluster.requireNode(c.node());
        int vmid = c.vmid();
        cluster.check("/vms/" + vmid, "VM.Allocate");
        cluster.checkVmidUnused(vmid);
        String storage = c.param("storage", "local");
        String rootfs = c.param("rootfs", storage + ":4");
        EmulatedCluster.Storage target = cluster.storage(rootfsStorage(rootfs, storage));
        cluster.check("/storage/" + target.id, "Datastore.AllocateSpace");
        if (!target.content.contains("rootdir")) {
            throw PveError.die("storage '" + target.id + "' does not support container directories");
        }
        GuestState g = cluster.withFlock(vmid, config.createLockTimeout(),
                () -> cluster.claim(vmid, c.node(), "unable to create CT " + vmid + " - "));
        Map<String, String> requested = configParams(c);
        EmuTask task = cluster.tasks.fork(c.node(), "vzcreate", Integer.toString(vmid), c.user(), t -> cluster.withFlock(vmid,
                config.configLockTimeout(), () -> {
                    try {
                        createWorker(t, g, c.param("ostemplate"), target, rootfs, requested);
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
                if (cluster.state(vmid) != null) {
                    forkStart(c.node(), g, c.user());
                }
            });
        }
        return Reply.of(task.upid);
    }

    private void createWorker(EmuTask t, GuestState g, String ostemplate, EmulatedCluster.Storage target, String rootfs,
                              Map<String, String> requested) {
        t.log("extracting archive '" + ostemplate + "'");
        work(t);
        if (cluster.findVolume(ostemplate).isEmpty()) {
            throw PveError.die("volume '" + ostemplate + "' does not exist");
        }
        String volume = allocate(target, g.vmid, sizeGiB(rootfs));
        synchronized (g) {
            g.config.putAll(requested);
            g.config.put("rootfs", volume + ",size=" + sizeGiB(rootfs) + "G");
            g.config.putIfAbsent("arch", "amd64");
            g.config.putIfAbsent("hostname", "CT" + g.vmid);
            g.config.putIfAbsent("memory", "512");
            g.config.putIfAbsent("swap", "512");
            g.config.putIfAbsent("ostype", "debian");
            g.config.putIfAbsent("unprivileged", "1");
            hwaddrs(g);
            g.config.remove("lock");
        }
        t.log("Total bytes read: 134092800 (128MiB, 5.4MiB/s)");
        t.log("Detected container architecture: amd64");
        t.log("Creating SSH host key 'ssh_host_ed25519_key' - this may take some time ...");
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
                    ? (Object) Long.parseLong(v) : v));
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
        for (String k : set.keySet()) {
            cluster.check("/vms/" + vmid, privilegeFor(k));
        }
        cluster.withFlock(vmid, config.configLockTimeout(), () -> {
            GuestState g = load(c);
            synchronized (g) {
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
            }
        });
        return Reply.none();
    }

    private static void hwaddrsForNew(GuestState g, Map<String, String> set) {
        boolean missing = set.entrySet().stream().anyMatch(e -> e.getKey().matches("net\\d+") && !e.getValue().contains("hwaddr="));
        if (missing) {
            hwaddrs(g);
        }
    }

    private static String privilegeFor(String key) {
        if (List.of("memory", "swap").contains(key)) {
            return "VM.Config.Memory";
        }
        if (List.of("cores", "cpulimit", "cpuunits").contains(key)) {
            return "VM.Config.CPU";
        }
        if (key.equals("rootfs") || key.matches("mp\\d+")) {
            return "VM.Config.Disk";
        }
        if (key.matches("net\\d+") || List.of("hostname", "nameserver", "searchdomain").contains(key)) {
            return "VM.Config.Network";
        }
        return "VM.Config.Options";
    }

    // ---- power -----------------------------------------------------------------------------------

    private Reply start(Call c) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, "VM.PowerMgmt");
        synchronized (g) {
            if (g.running) {
                throw PveError.die("CT " + g.vmid + " already running");
            }
        }
        return Reply.of(forkStart(c.node(), g, c.user()).upid);
    }

    private EmuTask forkStart(String node, GuestState g, String user) {
        return cluster.tasks.fork(node, "vzstart", Integer.toString(g.vmid), user, t -> cluster.withFlock(g.vmid,
                config.configLockTimeout(), () -> {
                    synchronized (g) {
                        if (g.template()) {
                            throw PveError.die("you can't start a CT if it's a template");
                        }
                        if (g.lock() != null && !g.lock().equals("mounted")) {
                            g.checkLock();
                        }
                    }
                    work(t);
                    synchronized (g) {
                        if (g.running) {
                            throw PveError.die("CT " + g.vmid + " already running");
                        }
                        g.running = true;
                        g.pid = pids.incrementAndGet();
                        g.startedAtMillis = System.currentTimeMillis();
                    }
                }));
    }

    private Reply stop(Call c) {
        GuestState g = requireRunning(c, "VM.PowerMgmt");
        EmuTask task = cluster.tasks.fork(c.node(), "vzstop", Integer.toString(g.vmid), c.user(), t -> {
            work(t);
            markStopped(g);
        });
        return Reply.of(task.upid);
    }

    private Reply shutdown(Call c) {
        GuestState g = requireRunning(c, "VM.PowerMgmt");
        int timeout = c.integer("timeout", 60);
        boolean force = c.flag("forceStop", false);
        EmuTask task = cluster.tasks.fork(c.node(), "vzshutdown", Integer.toString(g.vmid), c.user(), t -> {
            work(t);
            boolean ignores;
            synchronized (g) {
                ignores = g.ignoreShutdown;
            }
            if (ignores) {
                Thread.sleep(Duration.ofSeconds(timeout));
                if (!force) {
                    throw PveError.die("container did not stop");
                }
                t.log("container did not stop within " + timeout + " seconds, killing it");
            }
            markStopped(g);
        });
        return Reply.of(task.upid);
    }

    private GuestState requireRunning(Call c, String privilege) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, privilege);
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
        int newid = c.integer("newid", 0);
        cluster.check("/vms/" + src.vmid, "VM.Clone");
        cluster.check("/vms/" + newid, "VM.Allocate");
        boolean template;
        synchronized (src) {
            template = src.template();
        }
        boolean full = c.flag("full", !template);
        if (c.param("storage") != null && !full) {
            throw PveError.die("parameter 'storage' not allowed for linked clones");
        }
        String rootfs;
        synchronized (src) {
            rootfs = src.config.getOrDefault("rootfs", "local-zfs:subvol-" + src.vmid + "-disk-0,size=4G");
        }
        String srcVolume = rootfs.split(",")[0];
        String srcStorage = srcVolume.contains(":") ? srcVolume.substring(0, srcVolume.indexOf(':')) : "local";
        if (!full && (!template || !cluster.storage(srcStorage).linkedClones())) {
            throw PveError.die("Linked clone feature for '" + srcVolume + "' is not available");
        }
        // set_lock($vmid, 'disk') on the source, then create_and_lock_config($newid)
        cluster.withFlock(src.vmid, config.configLockTimeout(), () -> {
            synchronized (src) {
                src.checkLock();
                src.config.put("lock", "disk");
            }
        });
        GuestState dst;
        try {
            cluster.checkVmidUnused(newid);
            dst = cluster.withFlock(newid, config.createLockTimeout(), () -> cluster.claim(newid, c.node(), ""));
        } catch (PveError e) {
            synchronized (src) {
                src.config.remove("lock");
            }
            throw e;
        }
        String hostname = c.param("hostname");
        EmuTask task = cluster.tasks.fork(c.node(), "vzclone", Integer.toString(src.vmid), c.user(), t -> {
            try {
                t.log("create " + (full ? "full" : "linked") + " clone of mountpoint rootfs (" + srcVolume + ")");
                work(t);
                Map<String, String> copy;
                synchronized (src) {
                    copy = new LinkedHashMap<>(src.config);
                }
                copy.remove("lock");
                copy.remove("template");
                String base = srcVolume.substring(srcVolume.indexOf(':') + 1);
                String size = sizeGiB(rootfs);
                String volid = full ? allocate(cluster.storage(c.param("storage", srcStorage)), newid, size)
                        : srcStorage + ":" + base + "/subvol-" + newid + "-disk-0";
                if (!full) {
                    cluster.storage(srcStorage).volumes.put(volid, new EmulatedCluster.Volume(volid, "rootdir", "subvol",
                            (long) (Double.parseDouble(size) * (1L << 30)), newid, srcVolume));
                }
                copy.put("rootfs", volid + ",size=" + size + "G");
                if (hostname != null) {
                    copy.put("hostname", hostname);
                }
                synchronized (dst) {
                    dst.config.putAll(copy);
                    hwaddrs(dst);
                    dst.config.remove("lock");
                }
            } catch (Exception e) {
                cluster.remove(newid);
                throw e;
            } finally {
                synchronized (src) {
                    src.config.remove("lock");
                }
            }
        });
        return Reply.of(task.upid);
    }

    private Reply template(Call c) {
        cluster.requireNode(c.node());
        int vmid = c.vmid();
        cluster.check("/vms/" + vmid, "VM.Allocate");
        cluster.withFlock(vmid, config.configLockTimeout(), () -> {
            GuestState g = load(c);
            synchronized (g) {
                g.checkLock();
                if (g.template()) {
                    throw PveError.die("you can't convert a template to a template");
                }
                if (g.running) {
                    throw PveError.die("you can't convert a CT to template if the CT is running");
                }
            }
            cluster.tasks.fork(c.node(), "vztemplate", Integer.toString(vmid), c.user(), t -> {
                work(t);
                synchronized (g) {
                    String rootfs = g.config.getOrDefault("rootfs", "");
                    g.config.put("rootfs", rootfs.replace("subvol-" + vmid + "-disk-", "basevol-" + vmid + "-disk-")
                            .replace(":vm-" + vmid + "-disk-", ":base-" + vmid + "-disk-"));
                    g.config.put("template", "1");
                }
            });
        });
        return Reply.none(); // PVE returns null although it forked a worker
    }

    private Reply destroy(Call c) {
        GuestState g = load(c);
        cluster.check("/vms/" + g.vmid, "VM.Allocate");
        synchronized (g) {
            g.checkLock();
            if ("1".equals(g.config.get("protection"))) {
                throw PveError.die("can't remove CT " + g.vmid + " - protection mode enabled");
            }
            if (g.running && !c.flag("force", false)) {
                throw PveError.die("unable to destroy CT " + g.vmid + " - container is running");
            }
        }
        EmuTask task = cluster.tasks.fork(c.node(), "vzdestroy", Integer.toString(g.vmid), c.user(), t -> cluster.withFlock(g.vmid,
                config.configLockTimeout(), () -> {
                    markStopped(g);
                    work(t);
                    for (EmulatedCluster.Storage s : cluster.storages()) {
                        s.volumes.values().removeIf(v -> v.vmid() == g.vmid && v.content().equals("rootdir"));
                    }
                    t.log("purging CT " + g.vmid + " from related configurations..");
                    cluster.remove(g.vmid);
                }));
        return Reply.of(task.upid);
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
