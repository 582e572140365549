package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.cgroup.Resources;
import io.pvecri.daemon.config.ProxmoxSection;
import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.Log;
import io.pvecri.proxmox.CloneOptions;
import io.pvecri.proxmox.ConfigUpdate;
import io.pvecri.proxmox.LxcApi;
import io.pvecri.proxmox.LxcConfig;
import io.pvecri.proxmox.LxcStatus;
import io.pvecri.proxmox.PveClient;
import io.pvecri.proxmox.PveException;
import io.pvecri.proxmox.PveParams;
import io.pvecri.proxmox.node.NodeFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Containers as Proxmox VE CTs (docs/proxmox.md). Each image becomes one CT template
 * ({@link TemplateStore}); each container is a linked clone of it, configured through the API (cores,
 * memory, tags, description) and, for what a token may not set, through its config file on the node
 * ({@link NodeConfigEdits}, under the CT's flock), then started, shut down, stopped and destroyed
 * through API tasks. Processes are supervised by pve-cri's init shim inside the CT, as with the lxc
 * backend; exec enters the CT with {@code lxc-attach} on the node.
 *
 * <p>Only CTs carrying the configured tag are ever touched. The container → VMID map is persisted
 * ({@link CtRecords}) before a clone claims its VMID, so a crash mid-create leaks nothing.
 */
public final class ProxmoxBackend implements ContainerBackend {
    private static final Log LOG = Log.get(ProxmoxBackend.class);
    /** Host uid/gid of root in PVE's unprivileged CTs ({@code lxc.idmap = u 0 100000 65536}). */
    static final int MAPPED_ROOT = 100_000;
    private static final Duration TOOL_TIMEOUT = Duration.ofSeconds(30);

    private final PveClient client;
    private final ProxmoxSection.Settings s;
    private final NodeFiles node;
    private final CtRecords containers;
    private final TemplateStore templates;
    private final PveTasks tasks;
    private final Path includes;
    private final long hostMemoryMiB;

    public ProxmoxBackend(PveClient client, ProxmoxSection.Settings settings, Path stateDir) throws IOException {
        this.client = client;
        this.s = settings;
        this.node = NodeFiles.under(settings.nodeRoot());
        this.containers = new CtRecords(stateDir.resolve("containers"));
        this.tasks = new PveTasks(client, Duration.ofSeconds(settings.taskTimeoutSeconds()));
        this.templates = new TemplateStore(client, settings, new CtRecords(stateDir.resolve("templates")), tasks,
                stateDir.resolve("work"));
        this.includes = stateDir.resolve("lxc");
        Files.createDirectories(includes);
        this.hostMemoryMiB = hostMemoryMiB();
    }

    @Override
    public String name() {
        return "proxmox";
    }

    @Override
    public List<String> readinessProblems() {
        List<String> problems = new ArrayList<>();
        for (String tool : List.of("lxc-attach", "lxc-info")) {
            if (Stream.of("/usr/bin", "/usr/sbin", "/bin").noneMatch(d -> Files.isExecutable(Path.of(d, tool)))) {
                problems.add(tool + " not found: pve-cri must run on the PVE node itself");
            }
        }
        if (!Files.isDirectory(node.configDir())) {
            problems.add("no CT config directory at " + node.configDir() + ": is proxmox.nodeRoot right and this the node '" + s.node() + "'?");
        }
        try {
            client.version();
        } catch (PveException e) {
            problems.add("PVE API at " + s.url() + ": " + PveFailures.describe(e));
        }
        return problems;
    }

    /**
     * Checks at start what the backend needs of the node: the API answers with this token, the node
     * exists, the storages exist with the content types used, the token holds every privilege of
     * {@link RequiredPrivileges} on its path. Returns the problems, empty when ready.
     */
    public List<String> validate() {
        List<String> problems = new ArrayList<>();
        try {
            client.version();
            if (client.nodes().stream().noneMatch(n -> n.node().equals(s.node()))) {
                problems.add("proxmox.node: node '" + s.node() + "' is not in the cluster");
                return problems;
            }
            var storages = client.storage(s.node()).list();
            var tmpl = storages.stream().filter(st -> st.storage().equals(s.templateStorage())).findFirst();
            var root = storages.stream().filter(st -> st.storage().equals(s.rootfsStorage())).findFirst();
            if (tmpl.isEmpty() || !tmpl.get().content().contains("vztmpl")) {
                problems.add("proxmox.templateStorage: storage '" + s.templateStorage() + "' does not exist on node '" + s.node()
                        + "' or does not hold 'vztmpl' content");
            }
            if (root.isEmpty() || !root.get().content().contains("rootdir")) {
                problems.add("proxmox.rootfsStorage: storage '" + s.rootfsStorage() + "' does not exist on node '" + s.node()
                        + "' or does not hold 'rootdir' content");
            } else if (!List.of("zfspool", "lvmthin", "rbd", "btrfs").contains(root.get().type())) {
                problems.add("proxmox.rootfsStorage: storage '" + s.rootfsStorage() + "' is of type " + root.get().type()
                        + ", which has no linked clones; use a zfspool, lvmthin, rbd or btrfs storage");
            }
            problems.addAll(missingPrivileges());
        } catch (PveException e) {
            problems.add(PveFailures.describe(e));
        }
        return problems;
    }

    /** One problem per privilege of {@link RequiredPrivileges} the token lacks ({@code GET /access/permissions}). */
    private List<String> missingPrivileges() {
        List<String> problems = new ArrayList<>();
        for (RequiredPrivileges required : RequiredPrivileges.of(s)) {
            Set<String> held = client.access().privileges(required.path());
            for (String privilege : required.privileges()) {
                if (!held.contains(privilege)) {
                    problems.add(required.missing(s.tokenId(), privilege));
                }
            }
        }
        if (!problems.isEmpty()) {
            LOG.warn("proxmox.token_privileges_missing", "token", s.tokenId(), "missing", problems.size());
        }
        return problems;
    }

    @Override
    public void create(LaunchSpec spec) throws IOException {
        if (spec.privileged()) {
            throw new IOException("privileged containers are not supported by the proxmox backend: PVE CTs run unprivileged");
        }
        long started = System.nanoTime();
        int template = templates.ensure(spec.imageId(), spec.imageRootfs());
        LxcApi lxc = client.lxc(s.node());
        int vmid = -1;
        try {
            CloneOptions options = CloneOptions.linked().withHostname(hostname(spec));
            var clone = client.vmidAllocator(s.vmidMin(), s.vmidMax()).allocate(id -> {
                try {
                    containers.put(spec.id(), id, CtRecords.State.CREATING);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                return client.lockRetry().run("clone CT " + template, () -> lxc.clone(template, id, options));
            });
            vmid = clone.vmid();
            tasks.await("linked clone of CT " + template + " to " + vmid, clone.result());
            lxc.updateConfig(vmid, ConfigUpdate.set(apiConfig(spec)));
            Path include = includes.resolve(spec.id() + ".conf");
            List<String> lines = new ArrayList<>();
            node.edit(vmid, c -> lines.addAll(NodeConfigEdits.apply(c, spec, include)));
            AtomicFiles.write(include, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
            chownToMappedRoot(spec.shimDir());
            if (spec.logDir() != null) {
                chownToMappedRoot(spec.logDir());
            }
            containers.put(spec.id(), vmid, CtRecords.State.READY);
            LOG.info("proxmox.container_created", "id", spec.id(), "vmid", vmid, "template", template,
                    "ms", (System.nanoTime() - started) / 1_000_000);
        } catch (Exception e) {
            String why = PveFailures.describe(e);
            cleanup(spec.id());
            throw new IOException("PVE could not create the CT for container " + spec.id() + ": " + why, e);
        }
    }

    /** Cores, CPU limit and weight, memory, tags, description: what the token may set through the API. */
    private PveParams apiConfig(LaunchSpec spec) {
        LaunchSpec.Meta m = spec.meta();
        Resources r = m.resources();
        long memMiB = r.memoryLimitBytes() > 0 ? Math.max(16, (r.memoryLimitBytes() + (1 << 20) - 1) >> 20) : hostMemoryMiB;
        PveParams p = PveParams.of()
                .with("memory", memMiB)
                .with("swap", 0)
                .with("tags", s.tag() + ";pod-" + m.podId().substring(0, 12))
                .with("description", "pve-cri container " + spec.id() + "\npod: " + m.podNamespace() + "/" + m.podName()
                        + " (" + m.podId() + ")\ncontainer: " + m.containerName() + "\nimage: " + spec.imageId());
        if (r.cpuQuota() > 0 && r.cpuPeriod() > 0) {
            double cpus = (double) r.cpuQuota() / r.cpuPeriod();
            p = p.with("cpulimit", String.format(java.util.Locale.ROOT, "%.2f", Math.min(8192, cpus)))
                    .with("cores", Math.max(1, Math.min(8192, (long) Math.ceil(cpus))));
        }
        if (r.cpuShares() > 0) {
            p = p.with("cpuunits", Math.max(1, Math.min(10_000, r.cpuShares())));
        }
        return p;
    }

    private static String hostname(LaunchSpec spec) {
        String h = spec.hostname() == null ? "" : spec.hostname().toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9.-]", "-");
        h = h.replaceAll("^[-.]+|[-.]+$", "");
        return h.isEmpty() ? "pve-cri-" + spec.id().substring(0, 12) : h.substring(0, Math.min(63, h.length()));
    }

    @Override
    public InitProcess start(String id) throws IOException {
        int vmid = vmid(id);
        try {
            tasks.await("start CT " + vmid, client.lxc(s.node()).start(vmid));
        } catch (PveException e) {
            throw new IOException("PVE could not start CT " + vmid + ": " + PveFailures.describe(e), e);
        }
        Command.Result info = Command.run(List.of("lxc-info", "-n", Integer.toString(vmid), "-P", node.lxcPath().toString(), "-pH"),
                TOOL_TIMEOUT);
        String pid = info.out().strip();
        // A container whose process already exited has no init left; the shim's status file says why.
        return info.ok() && pid.matches("\\d+") ? InitProcess.of(Long.parseLong(pid)) : new InitProcess(0, 0);
    }

    @Override
    public boolean shutdown(String id, Duration timeout) throws IOException {
        int vmid = vmid(id);
        LxcApi lxc = client.lxc(s.node());
        try {
            if (!lxc.status(vmid).running()) {
                return true;
            }
            // lxc-stop --nokill sends lxc.signal.halt (the container's stop signal) to the shim, which
            // forwards it; forceStop kills what is left after the timeout.
            tasks.await("shutdown CT " + vmid, lxc.shutdown(vmid, timeout, true));
            return true;
        } catch (PveException.InvalidState e) {
            return true; // stopped meanwhile
        } catch (PveException e) {
            LOG.warn("proxmox.shutdown_failed", "id", id, "vmid", vmid, "error", PveFailures.describe(e));
            return false;
        }
    }

    @Override
    public void forceStop(String id) throws IOException {
        Optional<CtRecords.Entry> e = containers.get(id);
        if (e.isEmpty()) {
            return;
        }
        int vmid = e.get().vmid();
        LxcApi lxc = client.lxc(s.node());
        try {
            if (lxc.status(vmid).running()) {
                tasks.await("stop CT " + vmid, lxc.stop(vmid));
            }
        } catch (PveException.NotFound | PveException.InvalidState ignored) {
            // gone or already stopped
        } catch (PveException ex) {
            throw new IOException("PVE could not stop CT " + vmid + ": " + PveFailures.describe(ex), ex);
        }
    }

    @Override
    public void destroy(String id) throws IOException {
        Optional<CtRecords.Entry> e = containers.get(id);
        if (e.isEmpty()) {
            return;
        }
        int vmid = e.get().vmid();
        try {
            if (destroyIfOurs(vmid, id)) {
                containers.delete(id);
                Files.deleteIfExists(includes.resolve(id + ".conf"));
            }
        } catch (PveException ex) {
            throw new IOException("PVE could not destroy CT " + vmid + ": " + PveFailures.describe(ex), ex);
        }
    }

    /** Best effort after a failed create: the CT (if the clone got that far) and the record go. */
    private void cleanup(String id) {
        try {
            destroy(id);
        } catch (IOException | RuntimeException e) {
            LOG.warn("proxmox.cleanup_failed", "id", id, "error", e.getMessage());
        }
    }

    /**
     * Stops and destroys CT {@code vmid} if it carries our tag and is not a template; true when it is
     * gone (or was never ours: then it is left alone and only forgotten).
     */
    private boolean destroyIfOurs(int vmid, String id) {
        LxcApi lxc = client.lxc(s.node());
        LxcConfig c;
        try {
            c = lxc.config(vmid);
            if (c.lock().filter("create"::equals).isPresent()) {
                // A clone still running (its config only holds 'lock: create' until the task copies
                // the template's, tags included): wait for the task, then look again.
                waitUnlocked(vmid);
                c = lxc.config(vmid);
            }
        } catch (PveException.NotFound nf) {
            return true;
        }
        if (!c.tags().contains(s.tag()) || c.template()) {
            LOG.warn("proxmox.ct_not_ours", "id", id, "vmid", vmid, "tags", String.join(";", c.tags()));
            return true;
        }
        try {
            if (lxc.status(vmid).running()) {
                tasks.await("stop CT " + vmid, lxc.stop(vmid));
            }
        } catch (PveException.InvalidState ignored) {
            // stopped meanwhile
        }
        client.lockRetry().run("destroy CT " + vmid, () -> tasks.await("destroy CT " + vmid, lxc.delete(vmid)));
        LOG.info("proxmox.container_destroyed", "id", id, "vmid", vmid);
        return true;
    }

    /** A CT still being cloned carries {@code lock: create}; wait (up to the task timeout) for the task to end. */
    private void waitUnlocked(int vmid) {
        long deadline = System.nanoTime() + Duration.ofSeconds(s.taskTimeoutSeconds()).toNanos();
        LxcApi lxc = client.lxc(s.node());
        while (lxc.config(vmid).lock().filter("create"::equals).isPresent() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    @Override
    public List<String> attachCommand(String id) {
        try {
            return List.of("lxc-attach", "-n", Integer.toString(vmid(id)), "-P", node.lxcPath().toString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The containers pve-cri has CTs for. On the way, CTs on this node that carry our tag but belong to
     * no record (a crash between the clone and the record, or a record lost) are destroyed as orphans,
     * and records whose CT is gone are dropped; CTs without our tag are never looked at twice.
     */
    @Override
    public Set<String> list() throws IOException {
        Set<Integer> recorded = new HashSet<>();
        Set<String> ids = new HashSet<>();
        Set<Integer> existing = new HashSet<>();
        List<LxcStatus> cts;
        try {
            cts = client.lxc(s.node()).list();
        } catch (PveException e) {
            throw new IOException("cannot list CTs on node " + s.node() + ": " + PveFailures.describe(e), e);
        }
        cts.forEach(ct -> existing.add(ct.vmid()));
        for (CtRecords.Entry e : containers.all()) {
            recorded.add(e.vmid());
            if (existing.contains(e.vmid())) {
                ids.add(e.name());
            } else if (e.state() == CtRecords.State.CREATING) {
                containers.delete(e.name()); // the clone never claimed its VMID
            }
            // A ready record whose CT is gone is not reported: the daemon marks the container
            // exited (vanished), and its RemoveContainer drops the record.
        }
        templates.known().forEach(t -> recorded.add(t.vmid()));
        for (LxcStatus ct : cts) {
            if (ct.tags().contains(s.tag()) && !ct.template() && !recorded.contains(ct.vmid())) {
                LOG.warn("proxmox.orphan_ct", "vmid", ct.vmid(), "name", ct.name());
                try {
                    destroyIfOurs(ct.vmid(), "orphan-" + ct.vmid());
                } catch (PveException e) {
                    LOG.warn("proxmox.orphan_destroy_failed", "vmid", ct.vmid(), "error", PveFailures.describe(e));
                }
            }
        }
        return ids;
    }

    @Override
    public Optional<String> containerIdOf(String lxcName) {
        try {
            int vmid = Integer.parseInt(lxcName);
            return containers.all().stream().filter(e -> e.vmid() == vmid).map(CtRecords.Entry::name).findFirst();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public void imageRemoved(String imageId) {
        templates.remove(imageId);
    }

    /** PVE tasks waited for since start. */
    public long tasksAwaited() {
        return tasks.count();
    }

    private int vmid(String id) throws IOException {
        return containers.get(id).map(CtRecords.Entry::vmid)
                .orElseThrow(() -> new IOException("container " + id + " has no PVE CT"));
    }

    /** The shim writes its status files and logs as the CT's root, which is uid 100000 on the host. */
    private static void chownToMappedRoot(Path dir) throws IOException {
        try (Stream<Path> all = Files.walk(dir)) {
            for (Path p : all.toList()) {
                Files.setAttribute(p, "unix:uid", MAPPED_ROOT, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(p, "unix:gid", MAPPED_ROOT, LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    private static long hostMemoryMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // fall through
        }
        return 4096;
    }
}
