package io.pvecri.network;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What the daemon knows about a pod sandbox when it wires its network.
 *
 * @param podId        sandbox id (letters, digits, '.', '_', '-'; at most 128); the key of everything
 * @param name         pod name (metadata.name)
 * @param namespace    pod namespace
 * @param uid          pod uid
 * @param labels       pod labels ({@code statefulset.kubernetes.io/pod-name} gives a stable IP and MAC)
 * @param annotations  pod annotations ({@code pve-cri.io/network-group} puts the pod on a group bridge)
 * @param netnsPath    the pod's network namespace file (an nsfs bind mount); must exist
 * @param portMappings hostPort mappings (hostPort 0 entries are ignored)
 * @param dns          the pod's DNS config, or null/empty for the node default
 * @param hostname     hostname written into the pod's hosts file (null: the pod name)
 */
public record PodNetworkRequest(String podId, String name, String namespace, String uid,
                                Map<String, String> labels, Map<String, String> annotations, Path netnsPath,
                                List<PortMapping> portMappings, DnsConfig dns, String hostname) {

    /** Label whose presence gives a pod a stable IP and MAC. */
    public static final String STATEFULSET_POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
    /** Annotation naming the isolation group (own bridge) of a pod. */
    public static final String NETWORK_GROUP_ANNOTATION = "pve-cri.io/network-group";

    public PodNetworkRequest {
        labels = labels == null ? Map.of() : Map.copyOf(labels);
        annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
        portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
        dns = dns == null ? DnsConfig.empty() : dns;
        uid = uid == null ? "" : uid;
    }
}
