package io.pvecri.daemon.pod;

import java.util.Map;

/**
 * A pod sandbox as persisted under {@code <stateDir>/records/pods/<id>.json}.
 *
 * @param config        the PodSandboxConfig exactly as kubelet sent it (protobuf bytes)
 * @param createdAtNanos unix nanoseconds
 * @param hostNetwork   the pod uses the node's network namespace
 * @param ip            the pod's primary IP ("" for host-network pods or once stopped)
 * @param additionalIps further IPs (dual-stack)
 */
public record SandboxRecord(String id, String name, String namespace, String uid, int attempt,
                            Map<String, String> labels, Map<String, String> annotations,
                            String logDirectory, String hostname, String runtimeHandler,
                            boolean hostNetwork, boolean hostIpc, State state, long createdAtNanos, byte[] config,
                            String ip, java.util.List<String> additionalIps) {

    public SandboxRecord {
        ip = ip == null ? "" : ip;
        additionalIps = additionalIps == null ? java.util.List.of() : java.util.List.copyOf(additionalIps);
    }

    public enum State { READY, NOTREADY }

    public SandboxRecord withState(State s) {
        return new SandboxRecord(id, name, namespace, uid, attempt, labels, annotations, logDirectory, hostname,
                runtimeHandler, hostNetwork, hostIpc, s, createdAtNanos, config, ip, additionalIps);
    }

    public SandboxRecord withoutIps() {
        return new SandboxRecord(id, name, namespace, uid, attempt, labels, annotations, logDirectory, hostname,
                runtimeHandler, hostNetwork, hostIpc, state, createdAtNanos, config, "", java.util.List.of());
    }

    /** The key kubelet's metadata must be unique on, as containerd reserves it. */
    public String reservedName() {
        return name + "_" + namespace + "_" + uid + "_" + attempt;
    }
}
