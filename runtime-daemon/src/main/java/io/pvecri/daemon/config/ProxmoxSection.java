package io.pvecri.daemon.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/** The {@code proxmox:} section of the config file, used with {@code backend: proxmox} (docs/proxmox.md). */
public final class ProxmoxSection {
    private ProxmoxSection() {}

    private static final Pattern TOKEN_ID = Pattern.compile("^[^\\s@!]+@[A-Za-z][A-Za-z0-9.\\-_]+![A-Za-z][A-Za-z0-9.\\-_]+$");
    private static final Pattern NODE = Pattern.compile("^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$");
    private static final Pattern STORAGE = Pattern.compile("^[a-zA-Z][a-zA-Z0-9\\-_.]*[a-zA-Z0-9]$");
    private static final Pattern TAG = Pattern.compile("^[a-z0-9_][a-z0-9_+.\\-]*$");
    private static final Pattern FINGERPRINT = Pattern.compile("^([0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2}$");

    /**
     * How pve-cri reaches and uses one Proxmox VE node.
     *
     * @param url             API base, {@code https://host:8006}
     * @param node            this node's name in the cluster (pve-cri runs on it)
     * @param tokenId         {@code user@realm!tokenid}; never root@pam's own password session
     * @param tokenSecretFile file holding only the token's secret (mode 0600)
     * @param fingerprint     SHA-256 fingerprint of the node's certificate ({@code AA:BB:...}), or null
     * @param caFile          PEM CA file instead of a fingerprint, or null
     * @param templateStorage storage with {@code vztmpl} content for the image archives
     * @param rootfsStorage   storage with {@code rootdir} content and linked clones (zfspool, lvmthin, ...)
     * @param rootfsSizeGiB   rootfs size of each image template (clones inherit it)
     * @param vmidMin         lowest VMID pve-cri may claim
     * @param vmidMax         highest VMID pve-cri may claim
     * @param tag             the tag on every CT pve-cri owns; CTs without it are never touched
     * @param nodeRoot        where the node's {@code /etc/pve}, {@code /run/lock/lxc} and {@code /var/lib/lxc}
     *                        are ({@code /} on a real node; the emulator's state dir otherwise)
     * @param taskTimeoutSeconds how long to wait for one PVE task (create, clone, start, ...)
     * @param maxParallelMutations mutating API calls in flight at once against the node
     */
    public record Settings(URI url, String node, String tokenId, Path tokenSecretFile, String fingerprint, Path caFile,
                           String templateStorage, String rootfsStorage, int rootfsSizeGiB, int vmidMin, int vmidMax,
                           String tag, Path nodeRoot, int taskTimeoutSeconds, int maxParallelMutations) {}

    record FileProxmox(String url, String node, String tokenId, Path tokenSecretFile, String fingerprint, Path caFile,
                       String templateStorage, String rootfsStorage, Integer rootfsSizeGiB, Integer vmidMin,
                       Integer vmidMax, String tag, Path nodeRoot, Integer taskTimeoutSeconds,
                       Integer maxParallelMutations) {}

    static Settings parse(FileProxmox f) throws ConfigException {
        if (f == null) {
            throw new ConfigException("backend: proxmox needs a 'proxmox:' section (url, node, tokenId, tokenSecretFile, "
                    + "fingerprint or caFile); see docs/proxmox.md");
        }
        URI url;
        try {
            url = URI.create(required("proxmox.url", f.url()));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("proxmox.url: '" + f.url() + "' is not a URL like https://pve1.example:8006");
        }
        if (!"https".equals(url.getScheme()) || url.getHost() == null) {
            throw new ConfigException("proxmox.url: '" + f.url() + "' must be https://HOST:PORT (the PVE API is TLS only)");
        }
        String node = required("proxmox.node", f.node());
        if (!NODE.matcher(node).matches()) {
            throw new ConfigException("proxmox.node: '" + node + "' is not a PVE node name");
        }
        String tokenId = required("proxmox.tokenId", f.tokenId());
        if (!TOKEN_ID.matcher(tokenId).matches()) {
            throw new ConfigException("proxmox.tokenId: '" + tokenId + "' is not an API token id like pve-cri@pve!cri");
        }
        Path secret = f.tokenSecretFile();
        if (secret == null || !secret.isAbsolute()) {
            throw new ConfigException("proxmox.tokenSecretFile: an absolute path to the file holding the token secret is required");
        }
        if (!Files.isReadable(secret)) {
            throw new ConfigException("proxmox.tokenSecretFile: " + secret + " is not a readable file");
        }
        if ((f.fingerprint() == null) == (f.caFile() == null)) {
            throw new ConfigException("proxmox: set exactly one of fingerprint (the node certificate's SHA-256, "
                    + "'pvenode cert info') or caFile (e.g. /etc/pve/pve-root-ca.pem)");
        }
        if (f.fingerprint() != null && !FINGERPRINT.matcher(f.fingerprint()).matches()) {
            throw new ConfigException("proxmox.fingerprint: '" + f.fingerprint() + "' is not a SHA-256 fingerprint (32 hex bytes separated by ':')");
        }
        if (f.caFile() != null && !Files.isReadable(f.caFile())) {
            throw new ConfigException("proxmox.caFile: " + f.caFile() + " is not a readable file");
        }
        String templateStorage = storage("proxmox.templateStorage", f.templateStorage(), "local");
        String rootfsStorage = storage("proxmox.rootfsStorage", f.rootfsStorage(), "local-zfs");
        int size = f.rootfsSizeGiB() == null ? 8 : f.rootfsSizeGiB();
        if (size < 1 || size > 4096) {
            throw new ConfigException("proxmox.rootfsSizeGiB: " + size + " is out of range 1..4096");
        }
        int min = f.vmidMin() == null ? 900_000 : f.vmidMin();
        int max = f.vmidMax() == null ? 999_999 : f.vmidMax();
        if (min < 100 || max > 999_999_999 || min > max) {
            throw new ConfigException("proxmox.vmidMin/vmidMax: [" + min + ", " + max + "] is not a VMID range within 100..999999999");
        }
        String tag = f.tag() == null ? "pve-cri" : f.tag();
        if (!TAG.matcher(tag).matches()) {
            throw new ConfigException("proxmox.tag: '" + tag + "' is not a PVE tag (lower case letters, digits, _ + . -)");
        }
        Path nodeRoot = f.nodeRoot() == null ? Path.of("/") : f.nodeRoot();
        if (!nodeRoot.isAbsolute()) {
            throw new ConfigException("proxmox.nodeRoot: '" + nodeRoot + "' must be an absolute path");
        }
        int taskTimeout = f.taskTimeoutSeconds() == null ? 300 : f.taskTimeoutSeconds();
        if (taskTimeout < 5 || taskTimeout > 3600) {
            throw new ConfigException("proxmox.taskTimeoutSeconds: " + taskTimeout + " is out of range 5..3600");
        }
        int parallel = f.maxParallelMutations() == null ? 4 : f.maxParallelMutations();
        if (parallel < 1 || parallel > 64) {
            throw new ConfigException("proxmox.maxParallelMutations: " + parallel + " is out of range 1..64");
        }
        return new Settings(url, node, tokenId, secret, f.fingerprint(), f.caFile(), templateStorage, rootfsStorage, size,
                min, max, tag, nodeRoot, taskTimeout, parallel);
    }

    private static String required(String key, String v) throws ConfigException {
        if (v == null || v.isBlank()) {
            throw new ConfigException(key + ": required with backend: proxmox");
        }
        return v;
    }

    private static String storage(String key, String v, String dflt) throws ConfigException {
        String s = v == null ? dflt : v;
        if (!STORAGE.matcher(s).matches()) {
            throw new ConfigException(key + ": '" + s + "' is not a PVE storage id");
        }
        return s;
    }
}
