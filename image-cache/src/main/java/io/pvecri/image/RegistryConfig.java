package io.pvecri.image;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * How {@link RegistryPuller} talks to registries.
 *
 * @param platform               the platform chosen from multi-platform indexes
 * @param connectTimeout         TCP + TLS connect limit per connection
 * @param progressTimeout        a request fails when no byte arrives for this long (headers or body)
 * @param pullTimeout            limit of one whole pull; zero for none
 * @param maxConcurrentDownloads layers of one pull downloaded at the same time
 * @param hosts                  per registry host ({@code host[:port]}, {@code docker.io} for Docker
 *                               Hub): mirrors, insecure transport, extra CA
 */
public record RegistryConfig(Platform platform, Duration connectTimeout, Duration progressTimeout,
                             Duration pullTimeout, int maxConcurrentDownloads, Map<String, Host> hosts) {

    /**
     * Settings of one registry host.
     *
     * @param mirrors  endpoints tried before the registry itself, in order, as
     *                 {@code https://host[:port]} or {@code http://host[:port]}; a mirror that fails
     *                 or lacks the image is skipped. Pull credentials are never sent to mirrors.
     * @param insecure  HTTPS without certificate verification, falling back to plain HTTP (Docker's
     *                  "insecure registry"). Loopback registries fall back to plain HTTP without it.
     * @param plainHttp talk plain HTTP to this host right away (no HTTPS attempt)
     * @param caFile    PEM file of extra CA certificates trusted for this host (self-signed
     *                  registries); null for the JDK's trust store only
     */
    public record Host(List<URI> mirrors, boolean insecure, boolean plainHttp, Path caFile) {
        public Host {
            mirrors = mirrors == null ? List.of() : List.copyOf(mirrors);
            for (URI m : mirrors) {
                checkMirror(m);
            }
        }

        public static Host defaults() {
            return new Host(List.of(), false, false, null);
        }
    }

    public RegistryConfig {
        Objects.requireNonNull(platform, "platform");
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        Objects.requireNonNull(progressTimeout, "progressTimeout");
        Objects.requireNonNull(pullTimeout, "pullTimeout");
        if (connectTimeout.isNegative() || connectTimeout.isZero() || progressTimeout.isNegative()
                || progressTimeout.isZero() || pullTimeout.isNegative()) {
            throw new IllegalArgumentException("timeouts must be positive (pullTimeout: zero for none)");
        }
        if (maxConcurrentDownloads < 1 || maxConcurrentDownloads > 64) {
            throw new IllegalArgumentException("maxConcurrentDownloads must be 1..64, got " + maxConcurrentDownloads);
        }
        Map<String, Host> normal = new LinkedHashMap<>();
        if (hosts != null) {
            hosts.forEach((k, v) -> normal.put(normalHost(k), v == null ? Host.defaults() : v));
        }
        hosts = Map.copyOf(normal);
    }

    /** Host platform, 30 s connect, 5 min without progress, no pull limit, 3 parallel layer downloads. */
    public static RegistryConfig defaults() {
        return new RegistryConfig(Platform.host(), Duration.ofSeconds(30), Duration.ofMinutes(5), Duration.ZERO, 3,
                Map.of());
    }

    public RegistryConfig withPlatform(Platform p) {
        return new RegistryConfig(p, connectTimeout, progressTimeout, pullTimeout, maxConcurrentDownloads, hosts);
    }

    public RegistryConfig withTimeouts(Duration connect, Duration progress, Duration pull) {
        return new RegistryConfig(platform, connect, progress, pull, maxConcurrentDownloads, hosts);
    }

    public RegistryConfig withMaxConcurrentDownloads(int n) {
        return new RegistryConfig(platform, connectTimeout, progressTimeout, pullTimeout, n, hosts);
    }

    public RegistryConfig withHost(String host, Host settings) {
        Map<String, Host> h = new LinkedHashMap<>(hosts);
        h.put(normalHost(host), settings);
        return new RegistryConfig(platform, connectTimeout, progressTimeout, pullTimeout, maxConcurrentDownloads, h);
    }

    /** The settings of a registry host (as in an image reference), defaults if none are configured. */
    Host host(String host) {
        return Optional.ofNullable(hosts.get(normalHost(host))).orElse(Host.defaults());
    }

    /** Docker Hub's other names map to {@code docker.io}; host names are case-insensitive. */
    static String normalHost(String host) {
        String h = Objects.requireNonNull(host, "host").toLowerCase(Locale.ROOT);
        return switch (h) {
            case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com" -> ImageReference.DEFAULT_DOMAIN;
            default -> h;
        };
    }

    private static void checkMirror(URI m) {
        if (m == null || m.getScheme() == null || m.getHost() == null
                || !(m.getScheme().equals("https") || m.getScheme().equals("http"))) {
            throw new IllegalArgumentException("mirror '" + m + "' is not an http(s)://host[:port] URL");
        }
        if (m.getRawPath() != null && !m.getRawPath().isEmpty() && !m.getRawPath().equals("/")) {
            throw new IllegalArgumentException("mirror '" + m + "': a path is not supported, give http(s)://host[:port]");
        }
        if (m.getRawQuery() != null || m.getRawFragment() != null || m.getRawUserInfo() != null) {
            throw new IllegalArgumentException("mirror '" + m + "': query, fragment and user info are not supported");
        }
    }
}
