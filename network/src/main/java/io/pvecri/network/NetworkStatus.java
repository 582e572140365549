package io.pvecri.network;

import java.nio.file.Path;
import java.util.List;

/**
 * A pod's network as set up.
 *
 * @param podId         sandbox id
 * @param ip            primary address (IPv4 in bridge mode), without prefix
 * @param additionalIps further addresses (IPv6 when dual-stack), without prefix
 * @param mac           MAC of the pod's interface
 * @param interfaceName interface name inside the pod (eth0)
 * @param gateway       default gateway of the primary family (may be null in CNI mode)
 * @param resolvConf    resolv.conf to bind-mount into every container of the pod
 * @param hostsFile     hosts file to bind-mount into every container of the pod
 */
public record NetworkStatus(String podId, String ip, List<String> additionalIps, String mac, String interfaceName,
                            String gateway, Path resolvConf, Path hostsFile) {
    public NetworkStatus {
        additionalIps = additionalIps == null ? List.of() : List.copyOf(additionalIps);
    }
}
