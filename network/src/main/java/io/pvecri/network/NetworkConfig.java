package io.pvecri.network;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Settings of the pod network (YAML {@code network:}). Build with {@link #builder()}; every field
 * has a safe default. Values are checked here (IllegalArgumentException naming the key) and
 * addresses when {@link PodNetworks#open} parses them (InvalidRequest).
 *
 * @param mode                 {@link Mode#BRIDGE} (built-in, default) or {@link Mode#CNI}
 * @param bridge               default bridge name ({@code pvecri0}), at most 15 characters; with DHCP addressing an
 *                             existing bridge (e.g. {@code vmbr0}) that the library never creates, addresses or deletes
 * @param cidr                 IPv4 pod range; null = kubelet's podCIDR (UpdateRuntimeConfig), else {@code 10.88.0.0/16}
 * @param cidr6                IPv6 pod range for dual-stack; null = IPv4 only
 * @param gateway              IPv4 gateway on the bridge; null = first host address of {@code cidr}
 * @param gateway6             IPv6 gateway; null = first host address of {@code cidr6}
 * @param mtu                  MTU of bridges and veths (1500)
 * @param masquerade           SNAT pod traffic leaving the pod range through non-pod interfaces (true)
 * @param ipForward            set {@code net.ipv4.ip_forward=1} (and IPv6 forwarding when dual-stack) in the host netns (true)
 * @param nftTable             name of the library's nftables tables ({@code inet} and {@code bridge} families), "pvecri"
 * @param dns                  node DNS defaults for pods that bring none
 * @param statefulSetRetention how long a StatefulSet pod's address is kept after teardown (24h; ZERO = forever)
 * @param cni                  CNI mode settings
 * @param hostNetns            network namespace file that plays "the host" (tests); null = the real host
 * @param commandTimeout       limit for each host command / CNI plugin run (30s)
 * @param addressing           how pods on the default bridge get their address: {@link Addressing#STATIC} (the
 *                             library's IPAM, default) or {@link Addressing#DHCP} (the bridge is an existing LAN
 *                             bridge; a DHCP client runs per pod)
 * @param dhcp                 DHCP client settings (addressing dhcp)
 */
public record NetworkConfig(Mode mode, String bridge, String cidr, String cidr6, String gateway, String gateway6,
                            int mtu, boolean masquerade, boolean ipForward, String nftTable, DnsDefaults dns,
                            Duration statefulSetRetention, CniSettings cni, Path hostNetns, Duration commandTimeout,
                            Addressing addressing, DhcpSettings dhcp) {

    public static final String DEFAULT_CIDR = "10.88.0.0/16";

    public enum Mode { BRIDGE, CNI }

    /** Addressing of the pods on the default bridge (bridge mode). */
    public enum Addressing { STATIC, DHCP }

    /**
     * The per-pod DHCP client (busybox udhcpc). setUp waits at most {@code timeout} for the first
     * lease; within it the client sends {@code retries + 1} DHCPDISCOVERs, evenly spaced.
     *
     * @param timeout how long setUp waits for the first lease (30s; at least 1s)
     * @param retries DHCPDISCOVERs re-sent after the first within {@code timeout} (3; 0..60)
     */
    public record DhcpSettings(Duration timeout, int retries) {
        public DhcpSettings {
            timeout = timeout == null ? Duration.ofSeconds(30) : timeout;
            if (timeout.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("network.dhcp.timeout must be at least 1s");
            }
            if (retries < 0 || retries > 60) {
                throw new IllegalArgumentException("network.dhcp.retries: " + retries + " is outside 0..60");
            }
        }

        public static DhcpSettings defaults() {
            return new DhcpSettings(null, 3);
        }

        /** Seconds between two DHCPDISCOVERs: the timeout spread over the attempts, at least 1. */
        public int discoverInterval() {
            return (int) Math.max(1, timeout.toSeconds() / (retries + 1));
        }
    }

    /**
     * Node DNS defaults. When all lists are empty, pods without DNS config get the servers,
     * searches and options of {@code hostResolvConf} minus loopback servers.
     */
    public record DnsDefaults(List<String> servers, List<String> searches, List<String> options, Path hostResolvConf) {
        public DnsDefaults {
            servers = servers == null ? List.of() : List.copyOf(servers);
            searches = searches == null ? List.of() : List.copyOf(searches);
            options = options == null ? List.of() : List.copyOf(options);
            hostResolvConf = hostResolvConf == null ? Path.of("/etc/resolv.conf") : hostResolvConf;
        }

        public static DnsDefaults fromHost() {
            return new DnsDefaults(List.of(), List.of(), List.of(), null);
        }
    }

    /** Where CNI configs and plugins are. */
    public record CniSettings(Path confDir, List<Path> binDirs) {
        public CniSettings {
            confDir = confDir == null ? Path.of("/etc/cni/net.d") : confDir;
            binDirs = binDirs == null || binDirs.isEmpty() ? List.of(Path.of("/opt/cni/bin"), Path.of("/usr/lib/cni"))
                    : List.copyOf(binDirs);
        }

        public static CniSettings defaults() {
            return new CniSettings(null, null);
        }
    }

    public NetworkConfig {
        mode = mode == null ? Mode.BRIDGE : mode;
        bridge = bridge == null || bridge.isBlank() ? "pvecri0" : bridge;
        if (!InterfaceNames.valid(bridge)) {
            throw new IllegalArgumentException("network.bridge: '" + bridge + "' is not a valid interface name (1-15 characters, no '/', ':' or space)");
        }
        if (mtu == 0) {
            mtu = 1500;
        }
        if (mtu < 576 || mtu > 65535) {
            throw new IllegalArgumentException("network.mtu: " + mtu + " is outside 576..65535");
        }
        nftTable = nftTable == null || nftTable.isBlank() ? "pvecri" : nftTable;
        if (!nftTable.matches("[A-Za-z][A-Za-z0-9_-]{0,31}")) {
            throw new IllegalArgumentException("network.nftTable: '" + nftTable + "' is not a valid nftables table name");
        }
        dns = dns == null ? DnsDefaults.fromHost() : dns;
        statefulSetRetention = statefulSetRetention == null ? Duration.ofHours(24) : statefulSetRetention;
        if (statefulSetRetention.isNegative()) {
            throw new IllegalArgumentException("network.statefulSetRetention must not be negative");
        }
        cni = cni == null ? CniSettings.defaults() : cni;
        commandTimeout = commandTimeout == null ? Duration.ofSeconds(30) : commandTimeout;
        if (commandTimeout.isNegative() || commandTimeout.isZero()) {
            throw new IllegalArgumentException("network.commandTimeout must be positive");
        }
        addressing = addressing == null ? Addressing.STATIC : addressing;
        if (addressing == Addressing.DHCP && mode != Mode.BRIDGE) {
            throw new IllegalArgumentException("network.addressing: dhcp needs mode bridge (in CNI mode the plugins' config decides addresses)");
        }
        dhcp = dhcp == null ? DhcpSettings.defaults() : dhcp;
        cidr = blankToNull(cidr);
        cidr6 = blankToNull(cidr6);
        gateway = blankToNull(gateway);
        gateway6 = blankToNull(gateway6);
    }

    public static NetworkConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.mode = mode;
        b.bridge = bridge;
        b.cidr = cidr;
        b.cidr6 = cidr6;
        b.gateway = gateway;
        b.gateway6 = gateway6;
        b.mtu = mtu;
        b.masquerade = masquerade;
        b.ipForward = ipForward;
        b.nftTable = nftTable;
        b.dns = dns;
        b.statefulSetRetention = statefulSetRetention;
        b.cni = cni;
        b.hostNetns = hostNetns;
        b.commandTimeout = commandTimeout;
        b.addressing = addressing;
        b.dhcp = dhcp;
        return b;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    /** Fluent construction of a {@link NetworkConfig}; unset fields take the defaults. */
    public static final class Builder {
        private Mode mode = Mode.BRIDGE;
        private String bridge;
        private String cidr;
        private String cidr6;
        private String gateway;
        private String gateway6;
        private int mtu = 1500;
        private boolean masquerade = true;
        private boolean ipForward = true;
        private String nftTable;
        private DnsDefaults dns;
        private Duration statefulSetRetention;
        private CniSettings cni;
        private Path hostNetns;
        private Duration commandTimeout;
        private Addressing addressing;
        private DhcpSettings dhcp;

        private Builder() {
        }

        public Builder mode(Mode v) { mode = Objects.requireNonNull(v); return this; }
        public Builder bridge(String v) { bridge = v; return this; }
        public Builder cidr(String v) { cidr = v; return this; }
        public Builder cidr6(String v) { cidr6 = v; return this; }
        public Builder gateway(String v) { gateway = v; return this; }
        public Builder gateway6(String v) { gateway6 = v; return this; }
        public Builder mtu(int v) { mtu = v; return this; }
        public Builder masquerade(boolean v) { masquerade = v; return this; }
        public Builder ipForward(boolean v) { ipForward = v; return this; }
        public Builder nftTable(String v) { nftTable = v; return this; }
        public Builder dns(DnsDefaults v) { dns = v; return this; }
        public Builder statefulSetRetention(Duration v) { statefulSetRetention = v; return this; }
        public Builder cni(CniSettings v) { cni = v; return this; }
        public Builder hostNetns(Path v) { hostNetns = v; return this; }
        public Builder commandTimeout(Duration v) { commandTimeout = v; return this; }
        public Builder addressing(Addressing v) { addressing = v; return this; }
        public Builder dhcp(DhcpSettings v) { dhcp = v; return this; }

        public NetworkConfig build() {
            return new NetworkConfig(mode, bridge, cidr, cidr6, gateway, gateway6, mtu, masquerade, ipForward, nftTable,
                    dns, statefulSetRetention, cni, hostNetns, commandTimeout, addressing, dhcp);
        }
    }
}
