package io.pvecri.daemon.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads the YAML file, applies command-line overrides, checks every value and returns a
 * {@link DaemonConfig}. Unknown keys are errors (a typo must not silently fall back to a default).
 */
public final class ConfigLoader {
    public static final Path DEFAULT_FILE = Path.of("/etc/pve-cri/config.yaml");
    static final Path DEFAULT_SOCKET = Path.of("/run/pve-cri/pve-cri.sock");
    static final Path DEFAULT_STATE = Path.of("/var/lib/pve-cri");
    private static final Pattern HOST_PORT = Pattern.compile("^(\\[[0-9a-fA-F:.]+]|[A-Za-z0-9.-]+):(\\d{1,5})$");
    private static final Pattern REGISTRY_HOST = Pattern.compile("^(\\[[0-9a-fA-F:]+]|[A-Za-z0-9.-]+)(:\\d{1,5})?$");
    private static final Set<String> LXC_LEVELS = Set.of("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL");

    /** Command-line values that replace the file's; null = not given. */
    public record Overrides(Path socket, Path stateDir, String metricsListen) {
        public static Overrides none() {
            return new Overrides(null, null, null);
        }
    }

    // The file's shape; every field optional. Jackson fills these by field name.
    record FileConfig(Path socket, Path stateDir, String backend, FileLxc lxc, FileMetrics metrics,
                      FileLog log, FileRuntime runtime, FileStreaming streaming, NetworkSection.FileNetwork network,
                      FileImages images, Map<String, FileRegistry> registries, GpuSection.FileGpu gpu,
                      ProxmoxSection.FileProxmox proxmox, StorageSection.FileStorage storage) {}

    record FileImages(String platform, Integer maxConcurrentDownloads, Integer connectTimeoutSeconds,
                      Integer progressTimeoutSeconds, Integer pullTimeoutSeconds, FileImageGc gc) {}

    record FileImageGc(Integer highThresholdPercent, Integer lowThresholdPercent, Integer intervalSeconds) {}

    record FileRegistry(List<String> mirrors, Boolean insecure, Boolean plainHttp, Path caFile) {}

    record FileLxc(Path path, String logLevel) {}

    record FileMetrics(String listen) {}

    record FileLog(String level) {}

    record FileRuntime(String cgroupDriver, String defaultStopSignal,
                       @JsonProperty("execOutputLimitBytes") Integer execOutputLimitBytes) {}

    record FileStreaming(String address, Integer port, Integer tokenTtlSeconds, Integer idleTimeoutSeconds,
                         Integer maxConcurrentStreams, Path tlsCertFile, Path tlsKeyFile) {}

    private ConfigLoader() {}

    /**
     * Loads {@code file} (may be null: then the default file is read if it exists, else defaults
     * are used) and applies the overrides.
     */
    public static DaemonConfig load(Path file, Overrides overrides) throws ConfigException {
        FileConfig fc = read(file);
        Path socket = first(overrides.socket(), fc.socket(), DEFAULT_SOCKET);
        Path state = first(overrides.stateDir(), fc.stateDir(), DEFAULT_STATE);
        requireAbsolute("socket", socket);
        requireAbsolute("stateDir", state);
        if (socket.toString().getBytes().length >= 108) {
            throw new ConfigException("socket: path '" + socket + "' is " + socket.toString().length()
                    + " bytes; unix socket paths must be shorter than 108 bytes");
        }

        String backendName = Optional.ofNullable(fc.backend()).orElse("lxc");
        DaemonConfig.Backend backend = switch (backendName) {
            case "lxc" -> DaemonConfig.Backend.LXC;
            case "proxmox" -> DaemonConfig.Backend.PROXMOX;
            default -> throw new ConfigException("backend: '" + backendName + "' is not supported; use 'lxc' or 'proxmox'");
        };
        ProxmoxSection.Settings proxmox = backend == DaemonConfig.Backend.PROXMOX ? ProxmoxSection.parse(fc.proxmox()) : null;
        if (proxmox == null && fc.proxmox() != null) {
            throw new ConfigException("proxmox: this section is only used with backend: proxmox (backend is '" + backendName + "')");
        }

        FileLxc lxc = Optional.ofNullable(fc.lxc()).orElse(new FileLxc(null, null));
        Path lxcPath = first(null, lxc.path(), state.resolve("lxc"));
        requireAbsolute("lxc.path", lxcPath);
        String lxcLevel = first(null, lxc.logLevel(), "WARN").toUpperCase(Locale.ROOT);
        if (!LXC_LEVELS.contains(lxcLevel)) {
            throw new ConfigException("lxc.logLevel: '" + lxc.logLevel() + "' is not an LXC log level; use one of " + LXC_LEVELS);
        }

        String listen = overrides.metricsListen() != null ? overrides.metricsListen()
                : fc.metrics() != null && fc.metrics().listen() != null ? fc.metrics().listen() : "127.0.0.1:9333";
        if (listen.isBlank()) {
            listen = null;
        } else {
            var m = HOST_PORT.matcher(listen);
            if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
                throw new ConfigException("metrics.listen: '" + listen + "' is not host:port (e.g. 127.0.0.1:9333; empty disables metrics)");
            }
        }

        String level = fc.log() != null && fc.log().level() != null ? fc.log().level() : "info";
        if (!Set.of("debug", "info", "warn", "error").contains(level)) {
            throw new ConfigException("log.level: '" + level + "' is not one of debug, info, warn, error");
        }

        FileRuntime rt = Optional.ofNullable(fc.runtime()).orElse(new FileRuntime(null, null, null));
        String driver = first(null, rt.cgroupDriver(), "cgroupfs");
        if (!driver.equals("cgroupfs")) {
            throw new ConfigException("runtime.cgroupDriver: '" + driver + "' is not supported; pve-cri manages cgroups itself (cgroupfs), set kubelet's --cgroup-driver=cgroupfs");
        }
        String stopSignal = first(null, rt.defaultStopSignal(), "SIGTERM");
        if (Signals.number(stopSignal).isEmpty()) {
            throw new ConfigException("runtime.defaultStopSignal: '" + stopSignal + "' is not a signal name like SIGTERM");
        }
        int execLimit = first(null, rt.execOutputLimitBytes(), 16 * 1024 * 1024);
        if (execLimit < 1024 || execLimit > 64 * 1024 * 1024) {
            throw new ConfigException("runtime.execOutputLimitBytes: " + execLimit + " is out of range 1024..67108864");
        }

        return new DaemonConfig(socket.normalize(), state.normalize(), backend,
                new DaemonConfig.Lxc(lxcPath.normalize(), lxcLevel), new DaemonConfig.Metrics(listen), level,
                new DaemonConfig.Runtime(driver, stopSignal, execLimit), streaming(fc.streaming()),
                NetworkSection.parse(fc.network()), images(fc), GpuSection.parse(fc.gpu(), state.normalize()), proxmox,
                storage(fc, backend, state.normalize()));
    }

    private static StorageSection.Settings storage(FileConfig fc, DaemonConfig.Backend backend, Path state) throws ConfigException {
        StorageSection.Settings storage = StorageSection.parse(fc.storage(), state);
        if (backend == DaemonConfig.Backend.PROXMOX && storage.format() != StorageSection.Format.DIR) {
            throw new ConfigException("storage.format: '" + storage.format().name().toLowerCase(Locale.ROOT)
                    + "' is for the lxc backend; with backend: proxmox every CT's rootfs is a linked clone on proxmox.rootfsStorage");
        }
        return storage;
    }

    private static DaemonConfig.Images images(FileConfig fc) throws ConfigException {
        FileImages fi = Optional.ofNullable(fc.images()).orElse(new FileImages(null, null, null, null, null, null));
        String platform = first(null, fi.platform(), io.pvecri.image.Platform.host().toString());
        try {
            io.pvecri.image.Platform.parse(platform);
        } catch (IllegalArgumentException e) {
            throw new ConfigException("images.platform: " + e.getMessage());
        }
        int downloads = imagesRange("images.maxConcurrentDownloads", first(null, fi.maxConcurrentDownloads(), 3), 1, 64);
        int connect = imagesRange("images.connectTimeoutSeconds", first(null, fi.connectTimeoutSeconds(), 30), 1, 3600);
        int progress = imagesRange("images.progressTimeoutSeconds", first(null, fi.progressTimeoutSeconds(), 300), 1, 86400);
        int pull = imagesRange("images.pullTimeoutSeconds", first(null, fi.pullTimeoutSeconds(), 0), 0, 7 * 86400);
        Map<String, DaemonConfig.Registry> registries = new LinkedHashMap<>();
        if (fc.registries() != null) {
            for (Map.Entry<String, FileRegistry> e : fc.registries().entrySet()) {
                String host = e.getKey();
                String key = "registries.\"" + host + "\"";
                if (host == null || !REGISTRY_HOST.matcher(host).matches()) {
                    throw new ConfigException(key + ": not a registry host[:port] (e.g. docker.io or reg.local:5000)");
                }
                FileRegistry r = Optional.ofNullable(e.getValue()).orElse(new FileRegistry(null, null, null, null));
                if (r.caFile() != null) {
                    requireAbsolute(key + ".caFile", r.caFile());
                    if (!Files.isReadable(r.caFile())) {
                        throw new ConfigException(key + ".caFile: " + r.caFile() + " is not a readable file");
                    }
                }
                List<String> mirrors = r.mirrors() == null ? List.of() : List.copyOf(r.mirrors());
                DaemonConfig.Registry reg = new DaemonConfig.Registry(mirrors, Boolean.TRUE.equals(r.insecure()),
                        Boolean.TRUE.equals(r.plainHttp()), r.caFile());
                try {
                    new io.pvecri.image.RegistryConfig.Host(mirrors.stream().map(java.net.URI::create).toList(),
                            reg.insecure(), reg.plainHttp(), reg.caFile());
                } catch (IllegalArgumentException ex) {
                    throw new ConfigException(key + ".mirrors: " + ex.getMessage());
                }
                registries.put(host, reg);
            }
        }
        return new DaemonConfig.Images(platform, downloads, connect, progress, pull, Map.copyOf(registries), imageGc(fi.gc()));
    }

    /** {@code images.gc}: thresholds in percent of the image filesystem, low below high; the check interval. */
    static io.pvecri.image.GcConfig imageGc(FileImageGc g) throws ConfigException {
        FileImageGc f = Optional.ofNullable(g).orElse(new FileImageGc(null, null, null));
        int high = imagesRange("images.gc.highThresholdPercent",
                first(null, f.highThresholdPercent(), io.pvecri.image.GcConfig.DEFAULT_HIGH), 1, 100);
        int low = imagesRange("images.gc.lowThresholdPercent",
                first(null, f.lowThresholdPercent(), io.pvecri.image.GcConfig.DEFAULT_LOW), 0, 99);
        if (low >= high) {
            throw new ConfigException("images.gc.lowThresholdPercent (" + low + ") must be below images.gc.highThresholdPercent ("
                    + high + "): collection frees from the high threshold down to the low one");
        }
        int interval = imagesRange("images.gc.intervalSeconds",
                first(null, f.intervalSeconds(), (int) io.pvecri.image.GcConfig.DEFAULT_INTERVAL.toSeconds()), 1, 86400);
        return new io.pvecri.image.GcConfig(high, low, java.time.Duration.ofSeconds(interval));
    }

    private static int imagesRange(String key, int v, int min, int max) throws ConfigException {
        if (v < min || v > max) {
            throw new ConfigException(key + ": " + v + " is out of range " + min + ".." + max);
        }
        return v;
    }

    private static DaemonConfig.Streaming streaming(FileStreaming fs) throws ConfigException {
        DaemonConfig.Streaming d = DaemonConfig.Streaming.defaults();
        if (fs == null) {
            return d;
        }
        String address = first(fs.address(), d.address()).strip();
        String bare = address.startsWith("[") && address.endsWith("]") ? address.substring(1, address.length() - 1) : address;
        if (!bare.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            throw new ConfigException("streaming.address: '" + address + "' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for all)");
        }
        int port = range("streaming.port", first(fs.port(), d.port()), 0, 65535);
        int ttl = range("streaming.tokenTtlSeconds", first(fs.tokenTtlSeconds(), d.tokenTtlSeconds()), 1, 3600);
        int idle = range("streaming.idleTimeoutSeconds", first(fs.idleTimeoutSeconds(), d.idleTimeoutSeconds()), 1, 7 * 24 * 3600);
        int max = range("streaming.maxConcurrentStreams", first(fs.maxConcurrentStreams(), d.maxConcurrentStreams()), 1, 4096);
        if ((fs.tlsCertFile() == null) != (fs.tlsKeyFile() == null)) {
            throw new ConfigException("streaming.tlsCertFile and streaming.tlsKeyFile go together: set both for https, or neither");
        }
        for (Path p : new Path[] {fs.tlsCertFile(), fs.tlsKeyFile()}) {
            if (p != null && !Files.isReadable(p)) {
                throw new ConfigException("streaming: TLS file " + p + " does not exist or is not readable");
            }
        }
        return new DaemonConfig.Streaming(bare, port, ttl, idle, max, fs.tlsCertFile(), fs.tlsKeyFile());
    }

    private static int range(String key, int v, int min, int max) throws ConfigException {
        if (v < min || v > max) {
            throw new ConfigException(key + ": " + v + " is out of range " + min + ".." + max);
        }
        return v;
    }

    private static FileConfig read(Path file) throws ConfigException {
        Path path = file;
        if (path == null) {
            if (!Files.isRegularFile(DEFAULT_FILE)) {
                return new FileConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
            }
            path = DEFAULT_FILE;
        }
        if (!Files.isRegularFile(path)) {
            throw new ConfigException("config file " + path + " does not exist or is not a regular file");
        }
        ObjectMapper yaml = new ObjectMapper(new YAMLFactory())
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
        try {
            if (Files.size(path) == 0) {
                return new FileConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null);
            }
            FileConfig fc = yaml.readValue(path.toFile(), FileConfig.class);
            return fc == null ? new FileConfig(null, null, null, null, null, null, null, null, null, null, null, null, null, null) : fc;
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", "));
            throw new ConfigException(path + ": unknown key '" + pathOf(e) + "' (known keys here: " + known + ")");
        } catch (JsonMappingException e) {
            throw new ConfigException(path + ": bad value at '" + pathOf(e) + "': " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new ConfigException(path + ": cannot be read as YAML: " + e.getMessage(), e);
        }
    }

    private static String pathOf(JsonMappingException e) {
        return e.getPath().stream().map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining("."));
    }

    private static void requireAbsolute(String key, Path p) throws ConfigException {
        if (!p.isAbsolute()) {
            throw new ConfigException(key + ": '" + p + "' must be an absolute path");
        }
    }

    @SafeVarargs
    private static <T> T first(T... values) {
        for (T v : values) {
            if (v != null) {
                return v;
            }
        }
        return null;
    }
}
