package io.pvecri.network;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Names, addresses, DNS files, rules and CNI parsing, without touching the system. */
class PureLogicTest {
    @TempDir
    Path dir;

    @Test
    void ipLiteralsNeverResolveNames() {
        assertNull(IpLiterals.parse("localhost"));
        assertNull(IpLiterals.parse("pve-cri.test"));
        assertNull(IpLiterals.parse("10.0.0.256"));
        assertNull(IpLiterals.parse("1.2.3"));
        assertEquals("10.0.0.1", IpLiterals.format(IpLiterals.parse("10.0.0.1")));
        assertEquals("fd00::1", IpLiterals.format(IpLiterals.parse("fd00:0:0:0:0:0:0:1")));
        assertEquals("fd00:1::2:0:0:3", IpLiterals.format(IpLiterals.parse("fd00:1:0:0:2:0:0:3")));
        assertEquals("::", IpLiterals.format(IpLiterals.parse("::")));
        assertEquals("2001:db8:0:1:1:1:1:1", IpLiterals.format(IpLiterals.parse("2001:db8:0:1:1:1:1:1")));
    }

    @Test
    void subnets() throws Exception {
        Subnet s = Subnet.parse("10.88.3.7/16");
        assertEquals("10.88.0.0/16", s.toString());
        assertEquals("10.88.0.1", IpLiterals.format(s.firstHost()));
        assertEquals("10.88.255.255", IpLiterals.format(s.last()));
        assertTrue(s.contains(IpLiterals.parse("10.88.200.1")));
        assertFalse(s.contains(IpLiterals.parse("10.89.0.1")));
        assertFalse(s.contains(IpLiterals.parse("fd00::1")));
        assertEquals("fd00:88::/64", Subnet.parse("fd00:88::5/64").toString());
        assertThrows(NetworkException.InvalidRequest.class, () -> Subnet.parse("10.0.0.0"));
        assertThrows(NetworkException.InvalidRequest.class, () -> Subnet.parse("10.0.0.0/33"));
        assertThrows(NetworkException.InvalidRequest.class, () -> Subnet.parse("net.example/24"));
    }

    @Test
    void names() {
        assertEquals("pvcabcdef01", InterfaceNames.hostVeth("abcdef0123456789"));
        assertTrue(InterfaceNames.isHostVeth(InterfaceNames.hostVeth("not-hex-id")));
        String g = InterfaceNames.groupBridge("team-a");
        assertEquals(15, g.length());
        assertTrue(InterfaceNames.isGroupBridge(g));
        assertFalse(InterfaceNames.validGroup("Team A"));
        assertFalse(InterfaceNames.validPodId("../x"));
        assertFalse(InterfaceNames.valid("a-name-far-too-long"));
        assertEquals(MacAddresses.stable("ns/web-0"), MacAddresses.stable("ns/web-0"));
        assertTrue(MacAddresses.stable("ns/web-0").matches("02(:[0-9a-f]{2}){5}"));
        assertTrue(MacAddresses.random().matches("02(:[0-9a-f]{2}){5}"));
    }

    @Test
    void hostResolvConfWithoutLoopback() throws Exception {
        Path f = dir.resolve("resolv.conf");
        Files.writeString(f, "# comment\nnameserver 127.0.0.53\nnameserver ::1\nnameserver 192.0.2.1\ndomain corp.example\noptions edns0 trust-ad\n");
        DnsConfig d = DnsFiles.parseResolvConf(f);
        assertEquals(List.of("192.0.2.1"), d.servers());
        assertEquals(List.of("corp.example"), d.searches());
        assertEquals(List.of("edns0", "trust-ad"), d.options());
        DnsFiles configured = new DnsFiles(new NetworkConfig.DnsDefaults(List.of("10.96.0.10"), List.of("cluster.local"), List.of(), f));
        assertEquals(List.of("10.96.0.10"), configured.nodeDefault().servers());
        assertThrows(NetworkException.InvalidRequest.class,
                () -> DnsFiles.validate(new DnsConfig(List.of("192.0.2.1"), List.of("a\nnameserver 192.0.2.66"), List.of())));
    }

    private static PodRecord pod(String id, String iface, String ip, List<PortMapping> ports) {
        return new PodRecord(id, PodRecord.State.READY, "bridge", "n-" + id, "default", "u", "/run/netns/x", "pvecri0", null,
                iface, "02:00:00:00:00:01", List.of(ip + "/16"), "10.88.0.1", null, null, ports, DnsConfig.empty(), "h", null, 0, null);
    }

    @Test
    void rulesetCarriesEveryMappingAndPodTag() throws Exception {
        var web = pod("web1", "pvc00000001", "10.88.0.5", List.of(PortMapping.tcp(80, 8080),
                new PortMapping(Protocol.UDP, 53, 5353, "192.0.2.7"), new PortMapping(Protocol.SCTP, 9, 9009, null)));
        var in = new NftRuleset.Input("pvecri", List.of("pvecri0", "pvecri-g-abcdef"), Subnet.parse("10.88.0.0/16"), null, true,
                List.of(web), true);
        String r = NftRuleset.render(in);
        assertTrue(r.startsWith("table inet pvecri\ndelete table inet pvecri\n"), r);
        assertTrue(r.contains("meta nfproto ipv4 tcp dport 8080 dnat ip to 10.88.0.5:80 comment \"pod:web1\""), r);
        assertTrue(r.contains("ip daddr 192.0.2.7 udp dport 5353 dnat ip to 10.88.0.5:53"), r);
        assertTrue(r.contains("meta l4proto sctp th dport 9009"), r);
        assertTrue(r.contains("iifname \"pvecri0\" oifname { \"pvecri-g-abcdef\" } counter drop comment \"isolation\""), r);
        assertTrue(r.contains("iifname \"pvc00000001\" jump pod-pvc00000001"), r);
        assertTrue(r.contains("ether saddr != 02:00:00:00:00:01 counter drop"), r);
        assertTrue(r.contains("masquerade comment \"pod-egress\""), r);
        String noSctp = NftRuleset.render(new NftRuleset.Input("pvecri", List.of("pvecri0"), Subnet.parse("10.88.0.0/16"), null, false,
                List.of(web), false));
        assertFalse(noSctp.contains("sctp"));
        assertFalse(noSctp.contains("pod-egress"));
        assertFalse(noSctp.contains("isolation"), "one bridge: nothing to isolate");
    }

    @Test
    void dhcpPodsGetAMacFilterOnlyAndTheLanBridgeNoRules() throws Exception {
        var dhcpPod = new PodRecord("d1", PodRecord.State.READY, "bridge", "n", "default", "u", "/run/netns/x", "vmbr0", null,
                "pvc000000d1", "02:00:00:00:00:d1", List.of("192.168.1.50/24"), "192.168.1.1", null, null,
                List.of(PortMapping.tcp(80, 8080)), DnsConfig.empty(), "h", null, 0,
                new PodRecord.DhcpState(42, DnsConfig.empty(), "192.168.1.1", 3600));
        String r = NftRuleset.render(new NftRuleset.Input("pvecri", List.of(), Subnet.parse("10.88.0.0/16"), null, true,
                List.of(dhcpPod), true));
        assertTrue(r.contains("ether saddr != 02:00:00:00:00:d1 counter drop"), r);
        assertFalse(r.contains("ip saddr != 192.168.1.50"), "no IP filter: the address is the LAN's");
        assertFalse(r.contains("dnat") || r.contains("masquerade") || r.contains("vmbr0"), r);
    }

    @Test
    void leaseRecordsAreCheckedFieldByField() {
        var l = DhcpClient.parseLease(Map.of("state", "bound", "ip", "192.168.1.50", "mask", "24", "router", "192.168.1.1 192.168.1.2",
                "dns", "192.168.1.53 not_an_ip 192.168.1.54", "domain", "lan.example", "search", "", "lease", "3600",
                "serverid", "192.168.1.1", "time", "17"));
        assertTrue(l.bound());
        assertEquals("192.168.1.1", l.router());
        assertEquals(List.of("192.168.1.53", "192.168.1.54"), l.dns());
        assertEquals(List.of("lan.example"), l.searches());
        assertEquals(3600, l.leaseSeconds());
        var odd = DhcpClient.parseLease(Map.of("state", "bound", "ip", "192.168.1.50; rm", "mask", "99", "search", "a.example _bad b.example"));
        assertFalse(odd.bound(), "a malformed address or mask is no lease");
        assertEquals(List.of("a.example", "b.example"), odd.searches());
        assertFalse(DhcpClient.parseLease(Map.of("state", "leasefail")).bound());
    }

    @Test
    void dhcpConfig() {
        NetworkConfig c = NetworkConfig.builder().addressing(NetworkConfig.Addressing.DHCP).bridge("vmbr0").build();
        assertEquals(java.time.Duration.ofSeconds(30), c.dhcp().timeout());
        assertEquals(3, c.dhcp().retries());
        assertEquals(7, c.dhcp().discoverInterval());
        assertEquals(NetworkConfig.Addressing.STATIC, NetworkConfig.defaults().addressing());
        assertEquals(c, c.toBuilder().build());
        assertThrows(IllegalArgumentException.class, () -> NetworkConfig.builder().mode(NetworkConfig.Mode.CNI)
                .addressing(NetworkConfig.Addressing.DHCP).build());
        assertThrows(IllegalArgumentException.class, () -> new NetworkConfig.DhcpSettings(java.time.Duration.ofMillis(10), 3));
        assertThrows(IllegalArgumentException.class, () -> new NetworkConfig.DhcpSettings(null, -1));
        assertTrue(DhcpClient.SCRIPT_TEXT.startsWith("#!/bin/sh\n"));
    }

    @Test
    void portConflicts() {
        var a = pod("a", "pvc1", "10.88.0.2", List.of(PortMapping.tcp(80, 8080), new PortMapping(Protocol.TCP, 81, 8081, "192.0.2.1")));
        assertTrue(HostPortClaims.conflict("b", List.of(PortMapping.tcp(1, 8080)), List.of(a)).isPresent());
        assertTrue(HostPortClaims.conflict("b", List.of(new PortMapping(Protocol.TCP, 1, 8080, "192.0.2.9")), List.of(a)).isPresent(),
                "wildcard covers every IP");
        assertFalse(HostPortClaims.conflict("b", List.of(new PortMapping(Protocol.UDP, 1, 8080, null)), List.of(a)).isPresent());
        assertFalse(HostPortClaims.conflict("b", List.of(new PortMapping(Protocol.TCP, 1, 8081, "192.0.2.2")), List.of(a)).isPresent());
        assertFalse(HostPortClaims.conflict("a", List.of(PortMapping.tcp(1, 8080)), List.of(a)).isPresent(), "own mappings");
        assertTrue(HostPortClaims.conflict("b", List.of(PortMapping.tcp(1, 8081)), List.of(a)).isPresent());
    }

    @Test
    void cniParsing() throws Exception {
        var single = CniNetworkList.parse(Json.MAPPER.readTree("{\"cniVersion\":\"0.4.0\",\"name\":\"n\",\"type\":\"bridge\",\"bridge\":\"br9\"}"), true);
        assertEquals(1, single.plugins().size());
        assertEquals(List.of("br9"), single.bridgeNames());
        assertTrue(single.supportsCheck());
        assertFalse(CniNetworkList.parse(Json.MAPPER.readTree("{\"cniVersion\":\"0.3.1\",\"name\":\"n\",\"plugins\":[{\"type\":\"x\"}]}"), false).supportsCheck());
        assertThrows(IllegalArgumentException.class, () -> CniNetworkList.parse(Json.MAPPER.readTree("{\"cniVersion\":\"1.0.0\",\"plugins\":[]}"), false));
        assertThrows(IllegalArgumentException.class, () -> CniNetworkList.parse(
                Json.MAPPER.readTree("{\"cniVersion\":\"1.0.0\",\"name\":\"n\",\"plugins\":[{\"type\":\"../../bin/sh\"}]}"), false));
        var result = CniResult.parse(Json.MAPPER.readTree("""
                {"cniVersion":"0.3.1","interfaces":[{"name":"veth1","mac":"aa:aa:aa:aa:aa:aa"},{"name":"eth0","mac":"02:01:02:03:04:05","sandbox":"/x"}],
                 "ips":[{"version":"6","address":"fd00::9/64","gateway":"fd00::1","interface":1},{"version":"4","address":"10.9.0.9/24","gateway":"10.9.0.1","interface":1}],
                 "dns":{"nameservers":["10.9.0.53"],"domain":"x.local"}}"""), "eth0");
        assertEquals(List.of("10.9.0.9/24", "fd00::9/64"), result.addresses());
        assertEquals("10.9.0.1", result.gateway());
        assertEquals("02:01:02:03:04:05", result.mac());
        assertEquals(List.of("x.local"), result.dns().searches());
    }

    @Test
    void configDefaultsAndChecks() {
        NetworkConfig c = NetworkConfig.defaults();
        assertEquals(NetworkConfig.Mode.BRIDGE, c.mode());
        assertEquals("pvecri0", c.bridge());
        assertNull(c.cidr());
        assertEquals(1500, c.mtu());
        assertTrue(c.masquerade());
        assertEquals(java.time.Duration.ofHours(24), c.statefulSetRetention());
        assertEquals(Path.of("/etc/cni/net.d"), c.cni().confDir());
        assertEquals(List.of(Path.of("/opt/cni/bin"), Path.of("/usr/lib/cni")), c.cni().binDirs());
        assertThrows(IllegalArgumentException.class, () -> NetworkConfig.builder().bridge("much-too-long-bridge").build());
        assertThrows(IllegalArgumentException.class, () -> NetworkConfig.builder().mtu(100).build());
        assertEquals(c, c.toBuilder().build());
    }

    @Test
    void openRefusesBadAddressesAndMissingHostNetns() {
        assertThrows(NetworkException.InvalidRequest.class, () -> PodNetworks.open(
                NetworkConfig.builder().cidr("10.0.0.0/31").build(), dir.resolve("s1")));
        assertThrows(NetworkException.InvalidRequest.class, () -> PodNetworks.open(
                NetworkConfig.builder().cidr("10.0.0.0/24").gateway("10.0.1.1").build(), dir.resolve("s2")));
        assertThrows(NetworkException.InvalidRequest.class, () -> PodNetworks.open(
                NetworkConfig.builder().hostNetns(dir.resolve("nope")).build(), dir.resolve("s3")));
        var req = new PodNetworkRequest("id", "n", "ns", null, null, null, dir, null, null, null);
        assertEquals(Map.of(), req.labels());
        assertEquals(DnsConfig.empty(), req.dns());
    }
}
