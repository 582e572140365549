package io.pvecri.network;

/**
 * One hostPort mapping of a pod. {@code hostPort == 0} means "no mapping" (Kubernetes sends
 * container ports without a hostPort too) and is ignored. {@code hostIp} is an IP literal or
 * null/empty/"0.0.0.0"/"::" for every local address.
 */
public record PortMapping(Protocol protocol, int containerPort, int hostPort, String hostIp) {
    public PortMapping {
        if (protocol == null) {
            protocol = Protocol.TCP;
        }
        if (hostIp != null && (hostIp.isBlank() || hostIp.equals("0.0.0.0") || hostIp.equals("::"))) {
            hostIp = null;
        }
    }

    public static PortMapping tcp(int containerPort, int hostPort) {
        return new PortMapping(Protocol.TCP, containerPort, hostPort, null);
    }
}
