package io.pvecri.daemon.config;

import io.pvecri.network.NetworkConfig;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/** The {@code network:} section of the config file (docs/networking.md lists the keys). */
final class NetworkSection {
    private NetworkSection() {}

    record FileDns(List<String> servers, List<String> searches, List<String> options, Path hostResolvConf) {}

    record FileCni(Path confDir, List<Path> binDirs) {}

    record FileDhcp(String timeout, Integer retries) {}

    record FileNetwork(String mode, String bridge, String cidr, String cidr6, String gateway, String gateway6,
                       Integer mtu, Boolean masquerade, Boolean ipForward, String nftTable, FileDns dns,
                       String statefulSetRetention, FileCni cni, String commandTimeout, Path hostNetns,
                       String addressing, FileDhcp dhcp) {}

    static NetworkConfig parse(FileNetwork f) throws ConfigException {
        if (f == null) {
            return NetworkConfig.defaults();
        }
        NetworkConfig.Builder b = NetworkConfig.builder();
        if (f.mode() != null) {
            b.mode(switch (f.mode().toLowerCase(Locale.ROOT)) {
                case "bridge" -> NetworkConfig.Mode.BRIDGE;
                case "cni" -> NetworkConfig.Mode.CNI;
                default -> throw new ConfigException("network.mode: '" + f.mode() + "' is not bridge or cni");
            });
        }
        if (f.addressing() != null) {
            b.addressing(switch (f.addressing().toLowerCase(Locale.ROOT)) {
                case "static" -> NetworkConfig.Addressing.STATIC;
                case "dhcp" -> NetworkConfig.Addressing.DHCP;
                default -> throw new ConfigException("network.addressing: '" + f.addressing() + "' is not static or dhcp");
            });
        }
        if (f.dhcp() != null) {
            try {
                b.dhcp(new NetworkConfig.DhcpSettings(f.dhcp().timeout() == null ? null : duration("network.dhcp.timeout", f.dhcp().timeout()),
                        f.dhcp().retries() == null ? 3 : f.dhcp().retries()));
            } catch (IllegalArgumentException e) {
                throw new ConfigException(e.getMessage());
            }
        }
        b.bridge(f.bridge()).cidr(f.cidr()).cidr6(f.cidr6()).gateway(f.gateway()).gateway6(f.gateway6()).nftTable(f.nftTable());
        if (f.mtu() != null) {
            b.mtu(f.mtu());
        }
        if (f.masquerade() != null) {
            b.masquerade(f.masquerade());
        }
        if (f.ipForward() != null) {
            b.ipForward(f.ipForward());
        }
        if (f.dns() != null) {
            FileDns d = f.dns();
            b.dns(new NetworkConfig.DnsDefaults(d.servers(), d.searches(), d.options(), d.hostResolvConf()));
        }
        if (f.statefulSetRetention() != null) {
            b.statefulSetRetention(duration("network.statefulSetRetention", f.statefulSetRetention()));
        }
        if (f.cni() != null) {
            b.cni(new NetworkConfig.CniSettings(f.cni().confDir(), f.cni().binDirs()));
        }
        if (f.commandTimeout() != null) {
            b.commandTimeout(duration("network.commandTimeout", f.commandTimeout()));
        }
        if (f.hostNetns() != null) {
            if (!f.hostNetns().isAbsolute()) {
                throw new ConfigException("network.hostNetns: '" + f.hostNetns() + "' must be an absolute path of a network namespace file");
            }
            b.hostNetns(f.hostNetns());
        }
        try {
            return b.build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** "30s", "15m", "24h", "7d" or "0". */
    static Duration duration(String key, String v) throws ConfigException {
        String s = v.strip().toLowerCase(Locale.ROOT);
        if (s.equals("0")) {
            return Duration.ZERO;
        }
        try {
            long n = Long.parseLong(s.substring(0, s.length() - 1));
            return switch (s.charAt(s.length() - 1)) {
                case 's' -> Duration.ofSeconds(n);
                case 'm' -> Duration.ofMinutes(n);
                case 'h' -> Duration.ofHours(n);
                case 'd' -> Duration.ofDays(n);
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new ConfigException(key + ": '" + v + "' is not a duration like 30s, 15m, 24h, 7d or 0");
        }
    }
}
