package io.pvecri.daemon.container;

import io.pvecri.daemon.util.Times;
import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.config.Signals;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.pod.PodNamespaces;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.daemon.rootfs.RootfsException;
import io.pvecri.daemon.rootfs.RootfsFormat;
import io.pvecri.daemon.state.RecordStore;
import io.pvecri.daemon.util.Command;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.daemon.util.IdIndex;
import io.pvecri.daemon.util.Log;
import io.pvecri.daemon.util.RequestLimits;
import io.pvecri.image.ImageCacheException;
import io.pvecri.image.ImageRecord;
import io.pvecri.image.ImageStore;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.LinuxContainerResources;
import io.pvecri.proto.cri.v1.NamespaceMode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The container lifecycle: create, start, stop, remove, status refresh, exec, log reopen and
 * resource updates. A container is one backend container whose init is the pve-cri shim; the
 * shim's files are the source of truth for "has the main process exited, and how".
 */
public final class ContainerManager {
    private static final Log LOG = Log.get(ContainerManager.class);
    private static final Duration START_WAIT = Duration.ofSeconds(15);
    private static final Duration KILL_WAIT = Duration.ofSeconds(5);

    private final RecordStore<ContainerRecord> store;
    private final Function<String, Optional<SandboxRecord>> sandboxes;
    private final Function<String, List<io.pvecri.daemon.pod.PodFiles.File>> podFiles;
    private final PodNamespaces namespaces;
    private final ImageStore images;
    private final ContainerBackend backend;
    private final Path containersDir;
    private final Path shimBinary;
    private final int defaultStopSignal;
    private final int execOutputLimit;
    private final ResourceControl resources;
    private final DeviceAllocator deviceAllocator;
    private final RootfsFormat rootfsFormat;
    private final Map<String, String> reservedNames = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();

    public ContainerManager(RecordStore<ContainerRecord> store, Function<String, Optional<SandboxRecord>> sandboxes,
                            Function<String, List<io.pvecri.daemon.pod.PodFiles.File>> podFiles, PodNamespaces namespaces, ImageStore images, ContainerBackend backend, Path containersDir,
                            Path shimBinary, String defaultStopSignal, int execOutputLimit, ResourceControl resources,
                            DeviceAllocator deviceAllocator, RootfsFormat rootfsFormat) {
        this.store = store;
        this.sandboxes = sandboxes;
        this.podFiles = podFiles;
        this.namespaces = namespaces;
        this.images = images;
        this.backend = backend;
        this.containersDir = containersDir;
        this.shimBinary = shimBinary;
        this.defaultStopSignal = Signals.number(defaultStopSignal).orElse(15);
        this.execOutputLimit = execOutputLimit;
        this.resources = resources;
        this.deviceAllocator = deviceAllocator;
        this.rootfsFormat = rootfsFormat;
    }

    /** Registers names of recovered records so duplicates stay refused after a restart. */
    public void recovered(ContainerRecord r) {
        sandboxes.apply(r.sandboxId()).ifPresent(s -> reservedNames.put(reservedName(r.name(), r.attempt(), s), r.id()));
    }

    // ---- create -------------------------------------------------------------------------

    public ContainerRecord create(String sandboxId, ContainerConfig config) {
        LaunchPlanner.validate(config);
        SandboxRecord sandbox = sandbox(sandboxId);
        if (sandbox.state() != SandboxRecord.State.READY) {
            throw CriException.precondition("sandbox " + sandbox.id() + " is not ready (it was stopped); create a new sandbox");
        }
        String name = reservedName(config.getMetadata().getName(), config.getMetadata().getAttempt(), sandbox);
        String id = RequestLimits.newId();
        String holder = reservedNames.putIfAbsent(name, id);
        if (holder != null) {
            throw CriException.alreadyExists("container name \"" + name + "\" is reserved for container " + holder
                    + "; remove it first or use another attempt number");
        }
        Deque<Undo> undo = new ArrayDeque<>();
        undo.push(() -> reservedNames.remove(name, id));
        try {
            ContainerRecord r = createReserved(id, sandbox, config, undo);
            LOG.info("container.created", "id", id, "name", config.getMetadata().getName(), "pod", sandbox.id(), "image", r.imageRef());
            return r;
        } catch (RuntimeException e) {
            unwind(undo, id);
            throw e;
        }
    }

    private ContainerRecord createReserved(String id, SandboxRecord sandbox, ContainerConfig config, Deque<Undo> undo) {
        String imageName = config.getImage().getImage();
        ImageRecord image = images.resolve(imageName).orElseThrow(() -> CriException.notFound(
                "image \"" + RequestLimits.printable(imageName) + "\" is not present on this node; import it with `pve-cri images import` (or pull it) first"));
        Path imageRootfs;
        try {
            // Held from here on: neither garbage collection nor RemoveImage removes an image a
            // container holds, so its rootfs (and rootfs artefact) cannot go while the container is made.
            images.acquire(image.id());
            undo.push(() -> images.release(image.id()));
            imageRootfs = images.rootfs(image.id());
        } catch (ImageCacheException e) {
            throw CriException.notFound("image " + image.id() + " disappeared while creating the container: " + e.getMessage());
        }
        Optional<Path> logPath = LaunchPlanner.logPath(sandbox, config);
        List<LaunchSpec.BindMount> mounts = new ArrayList<>(LaunchPlanner.mounts(config));
        boolean readonly = config.getLinux().getSecurityContext().getReadonlyRootfs();
        for (var f : podFiles.apply(sandbox.id())) {
            if (mounts.stream().noneMatch(m -> m.containerPath().equals(f.containerPath())) && Files.isRegularFile(f.hostPath())) {
                mounts.add(new LaunchSpec.BindMount(f.hostPath(), f.containerPath(), readonly, LaunchSpec.Propagation.PRIVATE, false));
            }
        }
        List<LaunchSpec.Device> devices = LaunchPlanner.devices(config);
        ProcessSpec process = LaunchPlanner.process(config, image.config(), imageRootfs,
                logPath.map(p -> "/.pve-cri/log/" + p.getFileName()).orElse(null));
        if (process.seccomp() instanceof Seccomp.Localhost l) {
            LOG.info("container.seccomp_profile", "id", id, "profile", l.profile(), "instructions", l.filter().instructions(),
                    "skipped_names", String.join(",", l.filter().skippedNames()));
        }
        LinuxContainerResources res = config.getLinux().getResources();
        List<String> cgroupLines = resources.launchLines(res);

        // Devices (GPUs) are admitted before anything is created: a refusal leaves nothing behind.
        Optional<DeviceAllocator.Grant> grant = deviceAllocator.allocate(id, deviceRequest(sandbox, config));
        if (grant.isPresent()) {
            undo.push(() -> deviceAllocator.release(id));
            devices = new ArrayList<>(devices);
            devices.addAll(grant.get().devices());
            for (LaunchSpec.BindMount m : grant.get().mounts()) {
                if (mounts.stream().noneMatch(x -> x.containerPath().equals(m.containerPath()))) {
                    mounts.add(m);
                }
            }
            process = withEnv(process, grant.get().env());
        }

        Path dir = containersDir.resolve(id);
        ShimFiles shim = new ShimFiles(dir.resolve("shim"));
        try {
            undo.push(() -> FileTrees.delete(dir));
            Files.createDirectories(shim.logMount());
            Files.copy(shimBinary, shim.binary(), StandardCopyOption.REPLACE_EXISTING);
            shim.binary().toFile().setExecutable(true, false);
            process.writeTo(shim.spec());
        } catch (IOException e) {
            throw CriException.internal("cannot prepare the container directory " + dir + ": " + e.getMessage(), e);
        }
        LaunchSpec.Rootfs rootfs;
        try {
            rootfs = rootfsFormat.prepare(id, image.id(), imageRootfs);
            undo.push(() -> rootfsFormat.release(id));
        } catch (RootfsException e) {
            throw rootfsFailure("cannot prepare the " + rootfsFormat.name() + " root file system of container " + id, e);
        }
        try {
            // Mount point of the shim's directory, in the container's writable layer.
            Files.createDirectories(rootfs.writableRoot().resolve(".pve-cri"));
        } catch (IOException e) {
            throw CriException.internal("cannot prepare the root file system " + rootfs.writableRoot() + ": " + e.getMessage(), e);
        }

        var nsOpts = sandboxNamespaceOptions(sandbox);
        PodNamespaces.Paths ns = namespaces.paths(sandbox.id());
        LaunchSpec spec = new LaunchSpec(id, sandbox.hostname(), image.id(), imageRootfs, rootfs, shim.dir(),
                logPath.map(Path::getParent).orElse(null),
                nsOpts.hostIpc() ? null : ns.shm(),
                new LaunchSpec.Namespaces(
                        nsOpts.hostNetwork() ? new LaunchSpec.Ns.Host() : new LaunchSpec.Ns.Shared(ns.net()),
                        nsOpts.hostIpc() ? new LaunchSpec.Ns.Host() : new LaunchSpec.Ns.Shared(ns.ipc()),
                        nsOpts.hostNetwork() ? new LaunchSpec.Ns.Host() : new LaunchSpec.Ns.Shared(ns.uts()),
                        config.getLinux().getSecurityContext().getNamespaceOptions().getPid() == NamespaceMode.NODE
                                ? new LaunchSpec.Ns.Host() : new LaunchSpec.Ns.Private()),
                mounts, devices, config.getLinux().getSecurityContext().getPrivileged(), cgroupLines,
                new LaunchSpec.Meta(sandbox.id(), sandbox.name(), sandbox.namespace(), config.getMetadata().getName(),
                        stopSignal(image), resources.requested(res)));
        try {
            undo.push(() -> backend.destroy(id));
            backend.create(spec);
        } catch (IOException e) {
            throw CriException.internal("backend " + backend.name() + " could not create container " + id + ": " + e.getMessage(), e);
        }
        int stopSignal = stopSignal(image);
        String imageRef = image.repoDigests().isEmpty() ? image.id() : image.repoDigests().getFirst();
        ContainerRecord r = new ContainerRecord(id, sandbox.id(), config.getMetadata().getName(), config.getMetadata().getAttempt(),
                imageName, image.id(), imageRef, logPath.map(Path::toString).orElse(""), ContainerRecord.State.CREATED,
                Times.nowNanos(), 0, 0, 0, "", "", 0, 0, stopSignal, config.toByteArray(), res.toByteArray());
        store.put(r);
        return r;
    }

    private int stopSignal(ImageRecord image) {
        return Optional.ofNullable(image.config().stopSignal()).flatMap(Signals::number).orElse(defaultStopSignal);
    }

    private record NsOpts(boolean hostNetwork, boolean hostIpc) {}

    private static DeviceAllocator.Request deviceRequest(SandboxRecord sandbox, ContainerConfig config) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        config.getEnvsList().forEach(kv -> env.put(kv.getKey(), kv.getValue().toStringUtf8()));
        Map<String, String> annotations = new java.util.LinkedHashMap<>();
        if (sandbox.annotations() != null) {
            annotations.putAll(sandbox.annotations());
        }
        annotations.putAll(config.getAnnotationsMap());
        return new DeviceAllocator.Request(sandbox.namespace(), sandbox.name(), config.getMetadata().getName(), env, annotations);
    }

    /** {@code p} with {@code extra} set in its environment (replacing same-named variables). */
    private static ProcessSpec withEnv(ProcessSpec p, Map<String, String> extra) {
        if (extra.isEmpty()) {
            return p;
        }
        List<String> env = new ArrayList<>();
        for (String e : p.env()) {
            int eq = e.indexOf('=');
            if (!extra.containsKey(eq < 0 ? e : e.substring(0, eq))) {
                env.add(e);
            }
        }
        extra.forEach((k, v) -> env.add(k + "=" + v));
        return p.withEnv(env);
    }

    private static NsOpts sandboxNamespaceOptions(SandboxRecord s) {
        return new NsOpts(s.hostNetwork(), s.hostIpc());
    }

    // ---- start --------------------------------------------------------------------------

    public ContainerRecord start(String idOrPrefix) {
        ContainerRecord r = get(idOrPrefix);
        synchronized (lock(r.id())) {
            r = refresh(store.get(r.id()).orElseThrow());
            if (r.state() != ContainerRecord.State.CREATED) {
                throw CriException.precondition("container " + r.id() + " is " + r.state().name().toLowerCase()
                        + "; only a created container can be started (create a new one to run again)");
            }
            SandboxRecord sandbox = sandbox(r.sandboxId());
            if (sandbox.state() != SandboxRecord.State.READY) {
                throw CriException.precondition("sandbox " + sandbox.id() + " is not ready; cannot start container " + r.id());
            }
            ShimFiles shim = shim(r.id());
            ContainerBackend.InitProcess init;
            try {
                init = backend.start(r.id());
            } catch (IOException e) {
                ContainerRecord failed = r.exited(Times.nowNanos(), 128, "StartError", e.getMessage());
                store.put(failed);
                throw CriException.internal("failed to start container " + r.id() + ": " + e.getMessage(), e);
            }
            long deadline = System.nanoTime() + START_WAIT.toNanos();
            while (System.nanoTime() < deadline) {
                Optional<ShimFiles.Started> started = shim.started();
                Optional<ShimFiles.Exit> exit = shim.exit();
                if (exit.isPresent() && started.isEmpty()) {
                    ShimFiles.Exit x = exit.get();
                    ContainerRecord failed = r.exited(x.finishedAtNanos(), x.exitCode(), "StartError", x.error());
                    store.put(failed);
                    throw CriException.precondition("failed to start container " + r.id() + ": " + x.error());
                }
                if (started.isPresent()) {
                    ContainerRecord running = r.running(init.pid(), init.startMillis(), started.get().startedAtNanos());
                    store.put(running);
                    applyUpdatedResources(running);
                    LOG.info("container.started", "id", r.id(), "init_pid", init.pid());
                    return refresh(running);
                }
                if (!init.alive()) {
                    ContainerRecord failed = r.exited(Times.nowNanos(), 128, "StartError", "the container's init exited before starting the process; see " + backend.name() + " log");
                    store.put(failed);
                    throw CriException.internal("failed to start container " + r.id() + ": init exited early", null);
                }
                sleep(5);
            }
            kill(r, shim);
            ContainerRecord failed = r.exited(Times.nowNanos(), 128, "StartError", "the init shim did not report the process started within " + START_WAIT.toSeconds() + "s");
            store.put(failed);
            throw CriException.internal("failed to start container " + r.id() + ": " + failed.message(), null);
        }
    }

    /** Resources updated while the container was only created are applied once it runs. */
    private void applyUpdatedResources(ContainerRecord r) {
        try {
            byte[] initial = ContainerConfig.parseFrom(r.config()).getLinux().getResources().toByteArray();
            if (!java.util.Arrays.equals(initial, r.resources())) {
                resources.applyLive(r.initPid(), LinuxContainerResources.parseFrom(r.resources()));
            }
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            LOG.warn("container.resources_unreadable", "id", r.id(), "error", e.getMessage());
        }
    }

    // ---- stop / remove ------------------------------------------------------------------

    /** Sends the stop signal, waits up to {@code timeoutSeconds}, then kills. Idempotent. */
    public ContainerRecord stop(String idOrPrefix, long timeoutSeconds) {
        ContainerRecord r = get(idOrPrefix);
        synchronized (lock(r.id())) {
            r = refresh(store.get(r.id()).orElseThrow());
            if (r.state() != ContainerRecord.State.RUNNING) {
                return r;
            }
            ShimFiles shim = shim(r.id());
            ContainerBackend.InitProcess init = new ContainerBackend.InitProcess(r.initPid(), r.initStartMillis());
            boolean forced = false;
            try {
                if (timeoutSeconds > 0 && backend.shutdown(r.id(), Duration.ofSeconds(timeoutSeconds))) {
                    // The backend sent the stop signal, waited and killed what was left.
                    forced = !waitExit(shim, init, KILL_WAIT) || shim.exit().isEmpty();
                } else if (timeoutSeconds > 0 && shim.command("signal " + r.stopSignal())) {
                    forced = !waitExit(shim, init, Duration.ofSeconds(timeoutSeconds));
                } else {
                    forced = true;
                }
                if (forced) {
                    kill(r, shim);
                }
            } catch (IOException e) {
                LOG.warn("container.stop_signal_failed", "id", r.id(), "error", e.getMessage());
                kill(r, shim);
            }
            ContainerRecord after = refresh(r);
            LOG.info("container.stopped", "id", r.id(), "exit_code", after.exitCode(), "forced", forced);
            return after;
        }
    }

    /**
     * Stops a running container at once (as StopContainer with timeout 0) for a reason of the
     * node's own, e.g. a GPU quota, and records {@code reason} and {@code message} in its status.
     * A container that is not running keeps the status it has.
     */
    public ContainerRecord stopFor(String id, String reason, String message) {
        ContainerRecord r = get(id);
        synchronized (lock(r.id())) {
            if (refresh(store.get(r.id()).orElseThrow()).state() != ContainerRecord.State.RUNNING) {
                return store.get(r.id()).orElseThrow();
            }
            ContainerRecord after = stop(r.id(), 0);
            if (after.state() == ContainerRecord.State.EXITED) {
                after = after.exited(after.finishedAtNanos(), after.exitCode(), reason, message);
                store.put(after);
            }
            LOG.warn("container.stopped_by_node", "id", r.id(), "reason", reason, "message", message);
            return after;
        }
    }

    /** SIGKILL through the shim, then the backend's force stop if the shim does not answer. */
    private void kill(ContainerRecord r, ShimFiles shim) {
        ContainerBackend.InitProcess init = new ContainerBackend.InitProcess(r.initPid(), r.initStartMillis());
        try {
            if (shim.command("kill") && waitExit(shim, init, KILL_WAIT)) {
                return;
            }
        } catch (IOException e) {
            LOG.warn("container.kill_via_shim_failed", "id", r.id(), "error", e.getMessage());
        }
        try {
            backend.forceStop(r.id());
        } catch (IOException e) {
            LOG.warn("container.force_stop_failed", "id", r.id(), "error", e.getMessage());
        }
    }

    private static boolean waitExit(ShimFiles shim, ContainerBackend.InitProcess init, Duration max) {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            if (shim.exit().isPresent() || (init.pid() > 0 && !init.alive())) {
                return true;
            }
            sleep(20);
        }
        return false;
    }

    /**
     * Removes the container: kills it if running, destroys the backend container and its
     * directory, drops the image reference and the record. Every step runs; if any failed the
     * record stays (a retry finishes the job) and the errors are reported together.
     */
    public void remove(String idOrPrefix) {
        Optional<ContainerRecord> found = find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        ContainerRecord r = found.get();
        synchronized (lock(r.id())) {
            if (store.get(r.id()).isEmpty()) {
                return;
            }
            r = refresh(store.get(r.id()).orElseThrow());
            List<String> errors = new ArrayList<>();
            if (r.state() == ContainerRecord.State.RUNNING) {
                kill(r, shim(r.id()));
            }
            try {
                backend.destroy(r.id());
            } catch (IOException e) {
                errors.add("destroy " + backend.name() + " container: " + e.getMessage());
            }
            if (errors.isEmpty()) {
                // The root file system can only go once the backend container using it is gone.
                try {
                    rootfsFormat.release(r.id());
                } catch (RootfsException e) {
                    errors.add("release the " + rootfsFormat.name() + " root file system: " + e.getMessage());
                }
            }
            if (errors.isEmpty()) {
                try {
                    FileTrees.delete(containersDir.resolve(r.id()));
                } catch (IOException e) {
                    errors.add("delete " + containersDir.resolve(r.id()) + ": " + e.getMessage());
                }
            }
            if (!errors.isEmpty()) {
                LOG.warn("container.remove_failed", "id", r.id(), "errors", String.join("; ", errors));
                throw CriException.internal("removing container " + r.id() + " failed (retry RemoveContainer): " + String.join("; ", errors), null);
            }
            try {
                deviceAllocator.release(r.id());
            } catch (RuntimeException e) {
                LOG.warn("container.remove_failed", "id", r.id(), "errors", "release devices: " + e.getMessage());
                throw CriException.internal("removing container " + r.id() + " failed (retry RemoveContainer): release devices: " + e.getMessage(), e);
            }
            images.release(r.imageId());
            store.delete(r.id());
            String id = r.id();
            reservedNames.values().removeIf(id::equals);
            locks.remove(id);
            LOG.info("container.removed", "id", id);
        }
    }

    // ---- queries ------------------------------------------------------------------------

    public ContainerRecord status(String idOrPrefix) {
        ContainerRecord r = get(idOrPrefix);
        synchronized (lock(r.id())) {
            return refresh(store.get(r.id()).orElse(r));
        }
    }

    /** All containers, each refreshed against its shim's files. */
    public List<ContainerRecord> list() {
        List<ContainerRecord> out = new ArrayList<>();
        for (ContainerRecord r : store.all()) {
            out.add(r.state() == ContainerRecord.State.RUNNING ? status(r.id()) : r);
        }
        return out;
    }

    public List<ContainerRecord> inSandbox(String sandboxId) {
        return list().stream().filter(r -> r.sandboxId().equals(sandboxId)).toList();
    }

    /** The container whose LXC container is named {@code lxcName} (its cgroup is {@code lxc.payload.<lxcName>}). */
    public Optional<ContainerRecord> findByLxcName(String lxcName) {
        return backend.containerIdOf(lxcName).flatMap(id -> store.get(id));
    }

    public Optional<ContainerRecord> find(String idOrPrefix) {
        RequestLimits.requireId("container id", idOrPrefix);
        return IdIndex.find(store.all(), ContainerRecord::id, idOrPrefix);
    }

    private ContainerRecord get(String idOrPrefix) {
        return find(idOrPrefix).orElseThrow(() -> CriException.notFound("container \"" + idOrPrefix + "\" not found"));
    }

    /**
     * Brings a RUNNING record up to date: the shim's status file means the main process ended
     * (exit code, time, reason); a dead init without one means it was killed from outside.
     */
    ContainerRecord refresh(ContainerRecord r) {
        if (r.state() != ContainerRecord.State.RUNNING) {
            return r;
        }
        ShimFiles shim = shim(r.id());
        Optional<ShimFiles.Exit> exit = shim.exit();
        ContainerRecord updated = null;
        if (exit.isPresent()) {
            ShimFiles.Exit x = exit.get();
            String reason = x.reason().isEmpty() ? (x.exitCode() == 0 ? "Completed" : "Error") : x.reason();
            updated = r.exited(x.finishedAtNanos(), x.exitCode(), reason, x.error());
        } else if (!new ContainerBackend.InitProcess(r.initPid(), r.initStartMillis()).alive()) {
            updated = r.exited(Times.nowNanos(), 137, "Error", "the container was killed without its init recording an exit status (force stop or node failure)");
        }
        if (updated == null) {
            return r;
        }
        store.put(updated);
        LOG.info("container.exited", "id", r.id(), "exit_code", updated.exitCode(), "reason", updated.reason());
        return updated;
    }

    // ---- exec, logs, resources ----------------------------------------------------------

    /** Result of ExecSync. */
    public record ExecResult(int exitCode, byte[] stdout, byte[] stderr) {}

    public ExecResult execSync(String idOrPrefix, List<String> cmd, long timeoutSeconds) {
        if (cmd.isEmpty()) {
            throw CriException.invalid("exec command must not be empty");
        }
        RequestLimits.requireArgv("exec command", cmd);
        ContainerRecord r = status(idOrPrefix);
        if (r.state() != ContainerRecord.State.RUNNING) {
            throw CriException.precondition("container " + r.id() + " is not running (" + r.state().name().toLowerCase() + "); cannot exec in it");
        }
        List<String> argv = new ArrayList<>(List.of("/.pve-cri/init", "exec"));
        if (timeoutSeconds > 0) {
            argv.addAll(List.of("--timeout", Long.toString(timeoutSeconds)));
        }
        argv.add("--");
        argv.addAll(cmd);
        Duration hostTimeout = timeoutSeconds > 0 ? Duration.ofSeconds(timeoutSeconds + 5) : Duration.ofHours(24);
        Command.Result res;
        try {
            res = backend.exec(r.id(), argv, hostTimeout, execOutputLimit);
        } catch (IOException e) {
            throw CriException.internal("exec in container " + r.id() + " failed: " + e.getMessage(), e);
        }
        if (res.timedOut() || (timeoutSeconds > 0 && res.exitCode() == 137 && res.err().contains("pve-cri-init: exec timed out"))) {
            throw new CriException.DeadlineExceeded("command " + RequestLimits.printable(String.join(" ", cmd)) + " timed out after " + timeoutSeconds + "s");
        }
        return new ExecResult(res.exitCode(), res.stdout(), res.stderr());
    }

    public void reopenLog(String idOrPrefix) {
        ContainerRecord r = status(idOrPrefix);
        if (r.state() != ContainerRecord.State.RUNNING) {
            throw CriException.precondition("container " + r.id() + " is not running; its log cannot be reopened");
        }
        try {
            if (!shim(r.id()).command("reopen")) {
                throw CriException.precondition("container " + r.id() + " stopped before its log could be reopened");
            }
            // The shim handles the command asynchronously; kubelet expects the new file to exist
            // when the call returns.
            if (!r.logPath().isEmpty()) {
                Path log = Path.of(r.logPath());
                long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                while (!Files.exists(log) && System.nanoTime() < deadline) {
                    sleep(5);
                }
                if (!Files.exists(log)) {
                    throw CriException.internal("the shim of " + r.id() + " did not reopen " + log + " within 5s", null);
                }
            }
        } catch (IOException e) {
            throw CriException.internal("reopening the log of " + r.id() + " failed: " + e.getMessage(), e);
        }
    }

    public ContainerRecord updateResources(String idOrPrefix, LinuxContainerResources res) {
        ContainerRecord r = get(idOrPrefix);
        synchronized (lock(r.id())) {
            r = refresh(store.get(r.id()).orElseThrow());
            switch (r.state()) {
                case RUNNING -> resources.applyLive(r.initPid(), res);
                case CREATED -> { } // applied right after start (see start())
                default -> throw CriException.precondition("container " + r.id() + " has exited; its resources cannot be updated");
            }
            ContainerRecord updated = r.withResources(mergeResources(r.resources(), res).toByteArray());
            store.put(updated);
            LOG.info("container.resources_updated", "id", r.id(), "memory_limit", res.getMemoryLimitInBytes(),
                    "cpu_quota", res.getCpuQuota(), "cpu_shares", res.getCpuShares());
            return updated;
        }
    }

    private static LinuxContainerResources mergeResources(byte[] current, LinuxContainerResources update) {
        try {
            return LinuxContainerResources.parseFrom(current).toBuilder().mergeFrom(update).build();
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            return update;
        }
    }

    /** Live stats of a running container (empty for others) and its writable layer usage. */
    public ResourceControl.Stats stats(ContainerRecord r) {
        FileTrees.Usage layer = rootfsFormat.writableUsage(r.id());
        return resources.stats(r.state() == ContainerRecord.State.RUNNING ? r.initPid() : 0, layer);
    }

    /** The host directory of the container's writable layer (upper dir or ZFS clone). */
    public Path writableLayer(String id) {
        return rootfsFormat.writableLayer(id);
    }

    private static CriException rootfsFailure(String what, RootfsException e) {
        return switch (e.reason()) {
            case NO_SPACE -> new CriException.ResourceExhausted(what + ": " + e.getMessage());
            case IN_USE, FAILED -> CriException.internal(what + ": " + e.getMessage(), e);
        };
    }

    // ---- recovery -----------------------------------------------------------------------

    /** Records at start: refresh running ones; returns ids whose backend container is gone. */
    public void reconcile(Collection<String> backendContainers) {
        for (ContainerRecord r : store.all()) {
            recovered(r);
            if ((r.state() == ContainerRecord.State.CREATED) && !backendContainers.contains(r.id())) {
                store.put(r.exited(Times.nowNanos(), 128, "Unknown", "the backend container vanished while pve-cri was down"));
                LOG.warn("recovery.container_vanished", "id", r.id());
            } else if (r.state() == ContainerRecord.State.RUNNING) {
                ContainerRecord after = refresh(r);
                if (after.state() == ContainerRecord.State.EXITED) {
                    LOG.info("recovery.container_exited_while_down", "id", r.id(), "exit_code", after.exitCode());
                }
            }
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    private SandboxRecord sandbox(String sandboxId) {
        RequestLimits.requireId("pod sandbox id", sandboxId);
        return sandboxes.apply(sandboxId).orElseThrow(() -> CriException.notFound("pod sandbox \"" + sandboxId + "\" not found"));
    }

    private ShimFiles shim(String id) {
        return new ShimFiles(containersDir.resolve(id).resolve("shim"));
    }

    private Object lock(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

    static String reservedName(String name, int attempt, SandboxRecord s) {
        return name + "_" + s.name() + "_" + s.namespace() + "_" + s.uid() + "_" + attempt;
    }

    private interface Undo {
        void run() throws Exception;
    }

    private static void unwind(Deque<Undo> undo, String id) {
        while (!undo.isEmpty()) {
            try {
                undo.pop().run();
            } catch (Exception e) {
                LOG.warn("container.create_unwind_failed", "id", id, "error", e.getMessage());
            }
        }
    }


    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw CriException.internal("interrupted", e);
        }
    }
}
