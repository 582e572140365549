package io.pvecri.network;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes a pod's {@code resolv.conf} and {@code hosts} under its state directory; the daemon
 * bind-mounts both into every container of the pod. Reads the host's resolv.conf (a file, never
 * a lookup) for the node default.
 */
final class DnsFiles {
    static final String RESOLV_CONF = "resolv.conf";
    static final String HOSTS = "hosts";
    private static final Path SYSTEMD_RESOLVED = Path.of("/run/systemd/resolve/resolv.conf");

    /** Where a pod's files are. */
    record Paths(Path resolvConf, Path hosts) {
    }

    private final NetworkConfig.DnsDefaults defaults;

    DnsFiles(NetworkConfig.DnsDefaults defaults) {
        this.defaults = defaults;
    }

    static Paths paths(Path podDir) {
        return new Paths(podDir.resolve(RESOLV_CONF), podDir.resolve(HOSTS));
    }

    /** Rejects DNS settings that would break (or inject lines into) resolv.conf. */
    static void validate(DnsConfig dns) throws NetworkException.InvalidRequest {
        for (String s : dns.servers()) {
            if (IpLiterals.parse(s) == null) {
                throw new NetworkException.InvalidRequest("dns server '" + s + "' is not an IP address");
            }
        }
        for (String s : concat(dns.searches(), dns.options())) {
            if (s.isBlank() || s.chars().anyMatch(c -> Character.isWhitespace(c) || c < 0x20)) {
                throw new NetworkException.InvalidRequest("dns search/option '" + s + "' must be one word");
            }
        }
    }

    /**
     * Writes both files. The pod's own DNS config wins; else the plugin's (CNI result); else the
     * node default.
     */
    Paths write(Path podDir, DnsConfig podDns, DnsConfig pluginDns, List<String> podIps, String hostname) throws IOException {
        DnsConfig dns = !podDns.isEmpty() ? podDns : pluginDns != null && !pluginDns.isEmpty() ? pluginDns : nodeDefault();
        Paths p = paths(podDir);
        Json.writeAtomic(p.resolvConf(), resolvConf(dns).getBytes(StandardCharsets.UTF_8));
        Json.writeAtomic(p.hosts(), hosts(podIps, hostname).getBytes(StandardCharsets.UTF_8));
        return p;
    }

    /** The configured defaults, or the host's resolv.conf without loopback resolvers. */
    DnsConfig nodeDefault() {
        if (!defaults.servers().isEmpty() || !defaults.searches().isEmpty() || !defaults.options().isEmpty()) {
            return new DnsConfig(defaults.servers(), defaults.searches(), defaults.options());
        }
        DnsConfig host = parseResolvConf(defaults.hostResolvConf());
        if (host.servers().isEmpty() && defaults.hostResolvConf().equals(Path.of("/etc/resolv.conf"))
                && Files.isReadable(SYSTEMD_RESOLVED)) {
            host = parseResolvConf(SYSTEMD_RESOLVED); // systemd-resolved's upstream servers
        }
        return host;
    }

    static DnsConfig parseResolvConf(Path file) {
        List<String> servers = new ArrayList<>();
        List<String> searches = new ArrayList<>();
        List<String> options = new ArrayList<>();
        String domain = null;
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return DnsConfig.empty();
        }
        for (String raw : lines) {
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#") || line.startsWith(";")) {
                continue;
            }
            String[] f = line.split("\\s+");
            switch (f[0]) {
                case "nameserver" -> {
                    if (f.length > 1) {
                        InetAddress a = IpLiterals.parse(f[1]);
                        if (a != null && !a.isLoopbackAddress()) {
                            servers.add(f[1]);
                        }
                    }
                }
                case "search" -> {
                    searches.clear();
                    searches.addAll(List.of(f).subList(1, f.length));
                }
                case "domain" -> domain = f.length > 1 ? f[1] : null;
                case "options" -> options.addAll(List.of(f).subList(1, f.length));
                default -> { }
            }
        }
        if (searches.isEmpty() && domain != null) {
            searches.add(domain);
        }
        return new DnsConfig(servers, searches, options);
    }

    static String resolvConf(DnsConfig dns) {
        StringBuilder sb = new StringBuilder("# written by pve-cri\n");
        for (String s : dns.servers()) {
            sb.append("nameserver ").append(s).append('\n');
        }
        if (!dns.searches().isEmpty()) {
            sb.append("search ").append(String.join(" ", dns.searches())).append('\n');
        }
        if (!dns.options().isEmpty()) {
            sb.append("options ").append(String.join(" ", dns.options())).append('\n');
        }
        return sb.toString();
    }

    static String hosts(List<String> podIps, String hostname) {
        StringBuilder sb = new StringBuilder("# written by pve-cri\n");
        sb.append("127.0.0.1\tlocalhost\n");
        sb.append("::1\tlocalhost ip6-localhost ip6-loopback\n");
        sb.append("fe00::0\tip6-localnet\n");
        sb.append("fe00::0\tip6-mcastprefix\n");
        sb.append("fe00::1\tip6-allnodes\n");
        sb.append("fe00::2\tip6-allrouters\n");
        if (hostname != null && !hostname.isBlank()) {
            for (String ip : podIps) {
                sb.append(ip).append('\t').append(hostname).append('\n');
            }
        }
        return sb.toString();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
