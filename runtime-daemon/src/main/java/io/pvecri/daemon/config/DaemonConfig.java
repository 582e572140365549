package io.pvecri.daemon.config;

import io.pvecri.image.Platform;
import io.pvecri.image.RegistryConfig;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The daemon's whole configuration, as read from the YAML file (docs/configuration.md lists
 * every key) and then overridden by command-line flags. Values here are already validated.
 *
 * @param socket     the CRI unix socket kubelet and crictl connect to
 * @param stateDir   where records, image cache and container directories live
 * @param backend    which runtime backend runs containers
 * @param lxc        settings of the local LXC backend
 * @param metrics    the Prometheus endpoint
 * @param logLevel   debug, info, warn or error
 * @param runtime    CRI-level behaviour
 * @param network    pod networking (docs/networking.md)
 * @param streaming  the streaming server (exec, attach, port-forward URLs)
 * @param images     registry pulls: platform, timeouts, parallelism, per-registry settings, garbage
 *                   collection (docs/images.md)
 * @param gpu        GPU discovery, allocation and quota enforcement (docs/gpu.md)
 * @param proxmox    the Proxmox VE node, with {@code backend: proxmox} (docs/proxmox.md); null otherwise
 * @param storage    how container root file systems are made: dir, zfs or raw (docs/storage.md)
 */
public record DaemonConfig(Path socket, Path stateDir, Backend backend, Lxc lxc, Metrics metrics,
                           String logLevel, Runtime runtime, Streaming streaming,
                           io.pvecri.network.NetworkConfig network, Images images, GpuSection.Settings gpu,
                           ProxmoxSection.Settings proxmox, StorageSection.Settings storage) {

    public enum Backend { LXC, PROXMOX }

    /**
     * @param path     the lxcpath holding pve-cri's LXC containers (one directory each)
     * @param logLevel LXC's own log level for each container's lxc.log (TRACE..FATAL)
     */
    public record Lxc(Path path, String logLevel) {}

    /** @param listen host:port of /metrics and /healthz, or null when disabled */
    public record Metrics(String listen) {}

    /**
     * @param cgroupDriver          reported to kubelet (cgroupfs: pve-cri manages cgroups itself)
     * @param defaultStopSignal     used when neither the image nor the request names one
     * @param execOutputLimitBytes  cap of each of stdout and stderr kept for one ExecSync
     */
    public record Runtime(String cgroupDriver, String defaultStopSignal, int execOutputLimitBytes) {}

    /**
     * The streaming server that Exec, Attach and PortForward URLs point to (docs/streaming.md).
     *
     * @param address              IP address to listen on; the URLs carry it (a wildcard address is
     *                             advertised as 127.0.0.1)
     * @param port                 TCP port, 0 for an ephemeral one
     * @param tokenTtlSeconds      how long a URL's single-use token stays valid
     * @param idleTimeoutSeconds   a session with no traffic either way for this long is closed
     * @param maxConcurrentStreams sessions served at once; more are refused with HTTP 429
     * @param tlsCertFile          PEM certificate chain for https, or null for plain http
     * @param tlsKeyFile           PEM (PKCS#8) private key of that certificate, or null
     */
    public record Streaming(String address, int port, int tokenTtlSeconds, int idleTimeoutSeconds,
                            int maxConcurrentStreams, Path tlsCertFile, Path tlsKeyFile) {
        public static Streaming defaults() {
            return new Streaming("127.0.0.1", 0, 60, 14400, 64, null, null);
        }
    }

    /**
     * Registry pulls ({@code images:} and {@code registries:} in the file; docs/images.md).
     *
     * @param platform               os/arch[/variant] chosen from multi-platform images
     * @param maxConcurrentDownloads layers of one pull downloaded in parallel
     * @param connectTimeoutSeconds  TCP+TLS connect limit
     * @param progressTimeoutSeconds a pull fails when no byte arrives for this long
     * @param pullTimeoutSeconds     limit of one whole pull, 0 for none
     * @param registries             per registry host ({@code docker.io}, {@code host:port})
     * @param gc                     image garbage collection thresholds and check interval ({@code images.gc})
     */
    public record Images(String platform, int maxConcurrentDownloads, int connectTimeoutSeconds,
                         int progressTimeoutSeconds, int pullTimeoutSeconds, Map<String, Registry> registries,
                         io.pvecri.image.GcConfig gc) {

        /** The image cache's view of these settings. */
        public RegistryConfig registryConfig() {
            Map<String, RegistryConfig.Host> hosts = new LinkedHashMap<>();
            registries.forEach((host, r) -> hosts.put(host, new RegistryConfig.Host(
                    r.mirrors().stream().map(URI::create).toList(), r.insecure(), r.plainHttp(), r.caFile())));
            return new RegistryConfig(Platform.parse(platform), Duration.ofSeconds(connectTimeoutSeconds),
                    Duration.ofSeconds(progressTimeoutSeconds), Duration.ofSeconds(pullTimeoutSeconds),
                    maxConcurrentDownloads, hosts);
        }
    }

    /**
     * @param mirrors   {@code http(s)://host[:port]} endpoints tried first, in order
     * @param insecure  HTTPS without certificate checks, falling back to plain HTTP
     * @param plainHttp plain HTTP only
     * @param caFile    PEM CA certificates trusted for this registry, or null
     */
    public record Registry(List<String> mirrors, boolean insecure, boolean plainHttp, Path caFile) {}

    public Path containersDir() {
        return stateDir.resolve("containers");
    }

    public Path podsDir() {
        return stateDir.resolve("pods");
    }

    public Path imagesDir() {
        return stateDir.resolve("images");
    }
}
