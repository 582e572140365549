package io.pvecri.daemon.pod;

import io.pvecri.daemon.util.AtomicFiles;
import io.pvecri.daemon.util.FileTrees;
import io.pvecri.proto.cri.v1.DNSConfig;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The files every container of a pod shares, as containerd provides them: {@code hostname},
 * {@code hosts} and {@code resolv.conf} under {@code <stateDir>/pods/<podId>/}, bind-mounted
 * at /etc/hostname, /etc/hosts and /etc/resolv.conf unless the container mounts those paths
 * itself (kubelet mounts its own /etc/hosts for pods on the pod network).
 */
public final class PodFiles {
    private static final Path HOST_RESOLV = Path.of("/etc/resolv.conf");
    private static final Path HOST_HOSTS = Path.of("/etc/hosts");

    private final Path root;

    public PodFiles(Path root) {
        this.root = root;
    }

    /** In-container path → host file, for the container's mounts. */
    public record File(String containerPath, Path hostPath) {}

    public List<File> files(String podId) {
        Path d = root.resolve(podId);
        return List.of(new File("/etc/hostname", d.resolve("hostname")), new File("/etc/hosts", d.resolve("hosts")),
                new File("/etc/resolv.conf", d.resolve("resolv.conf")));
    }

    /**
     * Writes the pod's files. With a pod network, its hosts and resolv.conf (the pod's IP, and the
     * DNS config or the node default without loopback resolvers) are taken from the network.
     */
    public void write(String podId, String hostname, DNSConfig dns, boolean hostNetwork,
                      java.util.Optional<io.pvecri.network.NetworkStatus> net) throws IOException {
        Path d = root.resolve(podId);
        Files.createDirectories(d);
        AtomicFiles.write(d.resolve("hostname"), (hostname + "\n").getBytes(StandardCharsets.UTF_8));
        if (net.isPresent() && Files.isRegularFile(net.get().hostsFile()) && Files.isRegularFile(net.get().resolvConf())) {
            AtomicFiles.write(d.resolve("hosts"), Files.readAllBytes(net.get().hostsFile()));
            AtomicFiles.write(d.resolve("resolv.conf"), Files.readAllBytes(net.get().resolvConf()));
            return;
        }
        byte[] hosts = hostNetwork && Files.isRegularFile(HOST_HOSTS) ? Files.readAllBytes(HOST_HOSTS)
                : ("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t" + hostname + "\n")
                        .getBytes(StandardCharsets.UTF_8);
        AtomicFiles.write(d.resolve("hosts"), hosts);
        AtomicFiles.write(d.resolve("resolv.conf"), resolvConf(dns).getBytes(StandardCharsets.UTF_8));
    }

    /** From the pod's DNSConfig; without one, the node's resolv.conf (as containerd does). */
    static String resolvConf(DNSConfig dns) throws IOException {
        if (dns.getServersCount() == 0 && dns.getSearchesCount() == 0 && dns.getOptionsCount() == 0) {
            return Files.isRegularFile(HOST_RESOLV) ? Files.readString(HOST_RESOLV) : "";
        }
        List<String> lines = new ArrayList<>();
        if (dns.getSearchesCount() > 0) {
            lines.add("search " + String.join(" ", dns.getSearchesList()));
        }
        dns.getServersList().forEach(s -> lines.add("nameserver " + s));
        if (dns.getOptionsCount() > 0) {
            lines.add("options " + String.join(" ", dns.getOptionsList()));
        }
        return String.join("\n", lines) + "\n";
    }

    /** Pod ids that have files on disk (for orphan cleanup at start). */
    public List<String> podIdsOnDisk() throws IOException {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (var s = Files.list(root)) {
            return s.filter(Files::isDirectory).map(d -> d.getFileName().toString()).toList();
        }
    }

    public void delete(String podId) throws IOException {
        FileTrees.delete(root.resolve(podId));
    }
}
