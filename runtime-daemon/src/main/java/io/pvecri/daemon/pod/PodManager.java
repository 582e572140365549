package io.pvecri.daemon.pod;

import io.pvecri.daemon.util.Times;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.network.DnsConfig;
import io.pvecri.network.NetworkException;
import io.pvecri.network.NetworkStatus;
import io.pvecri.network.PodNetworkRequest;
import io.pvecri.network.PodNetworks;
import io.pvecri.network.PortMapping;
import io.pvecri.network.Protocol;
import io.pvecri.daemon.state.RecordStore;
import io.pvecri.daemon.util.IdIndex;
import io.pvecri.daemon.util.Log;
import io.pvecri.daemon.util.RequestLimits;
import io.pvecri.proto.cri.v1.NamespaceMode;
import io.pvecri.proto.cri.v1.PodSandboxConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Pod sandboxes: a pod is its shared namespaces (network, IPC, UTS, /dev/shm) plus its record;
 * no pause process. Stop releases the namespaces and kills the pod's containers; Remove also
 * removes the containers and the record.
 */
public final class PodManager {
    private static final Log LOG = Log.get(PodManager.class);

    /** What the pod manager needs from the container side. */
    public interface Containers {
        /** Kills every running container of the pod (stop with no grace period). */
        void killAll(String sandboxId);

        /** Removes every container of the pod; returns the errors. */
        List<String> removeAll(String sandboxId);
    }

    private final RecordStore<SandboxRecord> store;
    private final PodNamespaces namespaces;
    private final PodFiles files;
    private final PodNetworks network;
    private final Set<String> handlers;
    private final Map<String, String> reservedNames = new ConcurrentHashMap<>();
    private final Map<String, Object> locks = new ConcurrentHashMap<>();
    private Containers containers;

    public PodManager(RecordStore<SandboxRecord> store, PodNamespaces namespaces, PodFiles files, PodNetworks network,
                      Set<String> handlers) {
        this.store = store;
        this.namespaces = namespaces;
        this.files = files;
        this.network = network;
        this.handlers = handlers;
    }

    public void bind(Containers c) {
        this.containers = c;
    }

    public SandboxRecord run(PodSandboxConfig config, String runtimeHandler) {
        validate(config, runtimeHandler);
        var md = config.getMetadata();
        String reserved = md.getName() + "_" + md.getNamespace() + "_" + md.getUid() + "_" + md.getAttempt();
        String id = RequestLimits.newId();
        String holder = reservedNames.putIfAbsent(reserved, id);
        if (holder != null) {
            throw CriException.alreadyExists("pod sandbox name \"" + reserved + "\" is reserved for sandbox " + holder
                    + "; remove it first or use another attempt number");
        }
        try {
            var ns = config.getLinux().getSecurityContext().getNamespaceOptions();
            boolean hostNet = ns.getNetwork() == NamespaceMode.NODE;
            boolean hostIpc = ns.getIpc() == NamespaceMode.NODE;
            String hostname = config.getHostname().isEmpty() ? nodeHostname() : config.getHostname();
            long t0 = System.nanoTime();
            PodNamespaces.Paths nsPaths = namespaces.create(id, hostname, !hostNet, !hostIpc, !hostNet, config.getLinux().getSysctlsMap());
            Optional<NetworkStatus> net = Optional.empty();
            try {
                if (!hostNet) {
                    net = Optional.of(network.setUp(networkRequest(id, config, nsPaths.net(), hostname)));
                }
                files.write(id, hostname, config.getDnsConfig(), hostNet, net);
            } catch (IOException | NetworkException | RuntimeException e) {
                unwindRun(id);
                throw e;
            }
            SandboxRecord r = new SandboxRecord(id, md.getName(), md.getNamespace(), md.getUid(), md.getAttempt(),
                    Map.copyOf(config.getLabelsMap()), Map.copyOf(config.getAnnotationsMap()), config.getLogDirectory(),
                    hostname, runtimeHandler, hostNet, hostIpc, SandboxRecord.State.READY, Times.nowNanos(), config.toByteArray(),
                    net.map(NetworkStatus::ip).orElse(""), net.map(NetworkStatus::additionalIps).orElse(List.of()));
            try {
                store.put(r);
            } catch (RuntimeException e) {
                unwindRun(id);
                throw e;
            }
            LOG.info("pod.ready", "id", id, "name", md.getName(), "namespace", md.getNamespace(),
                    "host_network", hostNet, "ms", (System.nanoTime() - t0) / 1_000_000);
            return r;
        } catch (IOException e) {
            reservedNames.remove(reserved, id);
            throw CriException.internal("cannot create the pod's namespaces: " + e.getMessage(), e);
        } catch (NetworkException e) {
            reservedNames.remove(reserved, id);
            throw NetworkErrors.toCri(e);
        } catch (RuntimeException e) {
            reservedNames.remove(reserved, id);
            throw e;
        }
    }

    /** Undoes a RunPodSandbox that failed half-way: network, namespaces, files (all tried). */
    private void unwindRun(String id) {
        List<String> errors = new ArrayList<>(network.tearDown(id));
        errors.addAll(namespaces.release(id));
        try {
            files.delete(id);
        } catch (IOException e) {
            errors.add("delete pod files: " + e.getMessage());
        }
        if (!errors.isEmpty()) {
            LOG.warn("pod.run_unwind_failed", "id", id, "errors", String.join("; ", errors));
        }
    }

    private static PodNetworkRequest networkRequest(String id, PodSandboxConfig c, Path netns, String hostname) {
        List<PortMapping> ports = new ArrayList<>();
        for (var pm : c.getPortMappingsList()) {
            if (pm.getHostPort() == 0) {
                continue;
            }
            Protocol proto = switch (pm.getProtocol()) {
                case UDP -> Protocol.UDP;
                case SCTP -> Protocol.SCTP;
                default -> Protocol.TCP;
            };
            ports.add(new PortMapping(proto, pm.getContainerPort(), pm.getHostPort(), pm.getHostIp().isEmpty() ? null : pm.getHostIp()));
        }
        var d = c.getDnsConfig();
        DnsConfig dns = new DnsConfig(d.getServersList(), d.getSearchesList(), d.getOptionsList());
        var md = c.getMetadata();
        return new PodNetworkRequest(id, md.getName(), md.getNamespace(), md.getUid(), c.getLabelsMap(), c.getAnnotationsMap(),
                netns, ports, dns, hostname);
    }

    private void validate(PodSandboxConfig c, String handler) {
        if (!c.hasMetadata()) {
            throw CriException.invalid("pod sandbox config has no metadata; set metadata.name, namespace and uid");
        }
        RequestLimits.requireName("pod metadata.name", c.getMetadata().getName());
        RequestLimits.requireName("pod metadata.namespace", c.getMetadata().getNamespace());
        RequestLimits.requireName("pod metadata.uid", c.getMetadata().getUid());
        if (!c.getHostname().isEmpty() && !c.getHostname().matches("[A-Za-z0-9]([A-Za-z0-9.-]{0,62})?")) {
            throw CriException.invalid("hostname '" + RequestLimits.printable(c.getHostname()) + "' is not a valid host name (letters, digits, '-', '.', at most 63)");
        }
        RequestLimits.requireKeyValues("pod labels", c.getLabelsMap());
        RequestLimits.requireKeyValues("pod annotations", c.getAnnotationsMap());
        if (!c.getLogDirectory().isEmpty()) {
            String d = c.getLogDirectory();
            if (!d.startsWith("/") || List.of(d.split("/")).contains("..") || d.indexOf('\0') >= 0 || d.length() > 4096) {
                throw CriException.invalid("log_directory '" + RequestLimits.printable(d) + "' must be an absolute path without '..'");
            }
        }
        if (!handler.isEmpty() && !handlers.contains(handler)) {
            throw CriException.invalid("runtime handler '" + RequestLimits.printable(handler) + "' is not configured; known: " + handlers);
        }
        Sysctls.validate(c.getLinux().getSysctlsMap(),
                c.getLinux().getSecurityContext().getNamespaceOptions().getNetwork() == NamespaceMode.NODE,
                c.getLinux().getSecurityContext().getNamespaceOptions().getIpc() == NamespaceMode.NODE);
        if (c.getLinux().getSecurityContext().getNamespaceOptions().getNetwork() == NamespaceMode.TARGET) {
            throw CriException.invalid("network namespace mode TARGET is not valid for a pod");
        }
    }

    /** The node's hostname, for pods that give none (as containerd does). */
    static String nodeHostname() {
        try {
            return java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/kernel/hostname")).strip();
        } catch (IOException e) {
            return "localhost";
        }
    }

    /**
     * Kills the pod's containers and releases its namespaces. Idempotent: an unknown id is fine
     * (CRI: no error once everything is reclaimed).
     */
    public void stop(String idOrPrefix) {
        if (find(idOrPrefix).isEmpty()) {
            return;
        }
        stopKnown(idOrPrefix);
    }

    private SandboxRecord stopKnown(String idOrPrefix) {
        SandboxRecord r = get(idOrPrefix);
        synchronized (lock(r.id())) {
            r = store.get(r.id()).orElseThrow(() -> CriException.notFound("pod sandbox \"" + idOrPrefix + "\" not found"));
            containers.killAll(r.id());
            // Removal order: processes, then the network (rules, DNS, veth, lease), then the namespaces.
            List<String> errors = new ArrayList<>(network.tearDown(r.id()));
            errors.addAll(namespaces.release(r.id()));
            if (!errors.isEmpty()) {
                LOG.warn("pod.stop_release_failed", "id", r.id(), "errors", String.join("; ", errors));
                throw CriException.internal("stopping pod " + r.id() + " left namespaces behind (retry StopPodSandbox): " + String.join("; ", errors), null);
            }
            if (r.state() != SandboxRecord.State.NOTREADY) {
                r = r.withState(SandboxRecord.State.NOTREADY).withoutIps();
                store.put(r);
                LOG.info("pod.stopped", "id", r.id());
            }
            return r;
        }
    }

    /** Stops the pod if needed, removes its containers and forgets it; unknown ids are fine. */
    public void remove(String idOrPrefix) {
        Optional<SandboxRecord> found = find(idOrPrefix);
        if (found.isEmpty()) {
            return;
        }
        SandboxRecord r = found.get();
        synchronized (lock(r.id())) {
            if (store.get(r.id()).isEmpty()) {
                return;
            }
            List<String> errors = new ArrayList<>(containers.removeAll(r.id()));
            errors.addAll(network.tearDown(r.id()));
            errors.addAll(namespaces.release(r.id()));
            try {
                files.delete(r.id());
            } catch (IOException e) {
                errors.add("delete pod files: " + e.getMessage());
            }
            if (!errors.isEmpty()) {
                LOG.warn("pod.remove_failed", "id", r.id(), "errors", String.join("; ", errors));
                throw CriException.internal("removing pod " + r.id() + " failed (retry RemovePodSandbox): " + String.join("; ", errors), null);
            }
            store.delete(r.id());
            reservedNames.values().removeIf(r.id()::equals);
            locks.remove(r.id());
            LOG.info("pod.removed", "id", r.id());
        }
    }

    public SandboxRecord status(String idOrPrefix) {
        return get(idOrPrefix);
    }

    public Collection<SandboxRecord> list() {
        return store.all();
    }

    public Optional<SandboxRecord> find(String idOrPrefix) {
        RequestLimits.requireId("pod sandbox id", idOrPrefix);
        return IdIndex.find(store.all(), SandboxRecord::id, idOrPrefix);
    }

    /** Exact lookup for the container side (no prefix matching). */
    public Optional<SandboxRecord> byId(String id) {
        return IdIndex.find(store.all(), SandboxRecord::id, id);
    }

    /** The NetworkReady condition. */
    public io.pvecri.network.Readiness networkReadiness() {
        return network.readiness();
    }

    /** kubelet's pod CIDR (UpdateRuntimeConfig). */
    public void updatePodCidr(String cidr) {
        if (cidr.isEmpty()) {
            return;
        }
        try {
            network.updatePodCidr(cidr);
        } catch (NetworkException e) {
            throw NetworkErrors.toCri(e);
        }
    }

    public List<PodFiles.File> files(String id) {
        return files.files(id);
    }

    public Path netnsPath(String id) {
        return namespaces.paths(id).net();
    }

    private SandboxRecord get(String idOrPrefix) {
        return find(idOrPrefix).orElseThrow(() -> CriException.notFound("pod sandbox \"" + idOrPrefix + "\" not found"));
    }

    /** After a restart: re-reserve names, mark pods whose namespaces vanished, drop orphan dirs. */
    public void reconcile() throws IOException {
        for (SandboxRecord r : store.all()) {
            reservedNames.put(r.reservedName(), r.id());
            if (r.state() == SandboxRecord.State.READY && !r.hostNetwork() && !namespaces.netAlive(r.id())) {
                store.put(r.withState(SandboxRecord.State.NOTREADY));
                LOG.warn("recovery.pod_namespaces_gone", "id", r.id(), "hint", "the node rebooted or the mounts were removed; kubelet will recreate the pod");
            }
        }
        Set<String> live = new java.util.HashSet<>();
        store.all().stream().filter(r -> r.state() == SandboxRecord.State.READY).forEach(r -> live.add(r.id()));
        List<String> netErrors = network.reconcile(live);
        if (!netErrors.isEmpty()) {
            LOG.warn("recovery.network_reconcile_errors", "errors", String.join("; ", netErrors));
        }
        for (String dir : files.podIdsOnDisk()) {
            if (store.get(dir).isEmpty()) {
                files.delete(dir);
                LOG.warn("recovery.orphan_pod_files_removed", "pod", dir);
            }
        }
        for (String dir : namespaces.podIdsOnDisk()) {
            Optional<SandboxRecord> r = store.get(dir);
            if (r.isEmpty() || r.get().state() == SandboxRecord.State.NOTREADY) {
                List<String> errors = namespaces.release(dir);
                LOG.warn("recovery.orphan_namespaces_released", "pod", dir, "errors", String.join("; ", errors));
            }
        }
    }

    private Object lock(String id) {
        return locks.computeIfAbsent(id, k -> new Object());
    }

}
