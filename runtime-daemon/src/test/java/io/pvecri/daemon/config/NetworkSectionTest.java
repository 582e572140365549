package io.pvecri.daemon.config;

import io.pvecri.network.NetworkConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code network.addressing} and {@code network.dhcp} keys. */
class NetworkSectionTest {
    private static NetworkSection.FileNetwork file(String mode, String addressing, NetworkSection.FileDhcp dhcp) {
        return new NetworkSection.FileNetwork(mode, "vmbr0", null, null, null, null, null, null, null, null, null, null, null,
                null, null, addressing, dhcp);
    }

    @Test
    void dhcpAddressing() throws Exception {
        NetworkConfig c = NetworkSection.parse(file(null, "dhcp", new NetworkSection.FileDhcp("10s", 2)));
        assertEquals(NetworkConfig.Addressing.DHCP, c.addressing());
        assertEquals("vmbr0", c.bridge());
        assertEquals(Duration.ofSeconds(10), c.dhcp().timeout());
        assertEquals(2, c.dhcp().retries());
        NetworkConfig d = NetworkSection.parse(file(null, "DHCP", null));
        assertEquals(Duration.ofSeconds(30), d.dhcp().timeout());
        assertEquals(3, d.dhcp().retries());
        assertEquals(NetworkConfig.Addressing.STATIC, NetworkSection.parse(file(null, null, null)).addressing());
    }

    @Test
    void badValuesNameTheirKey() {
        assertTrue(assertThrows(ConfigException.class, () -> NetworkSection.parse(file(null, "bootp", null)))
                .getMessage().startsWith("network.addressing"));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkSection.parse(file("cni", "dhcp", null)))
                .getMessage().startsWith("network.addressing"));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkSection.parse(file(null, "dhcp", new NetworkSection.FileDhcp("soon", null))))
                .getMessage().startsWith("network.dhcp.timeout"));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkSection.parse(file(null, "dhcp", new NetworkSection.FileDhcp("0", null))))
                .getMessage().startsWith("network.dhcp.timeout"));
        assertTrue(assertThrows(ConfigException.class, () -> NetworkSection.parse(file(null, "dhcp", new NetworkSection.FileDhcp(null, -1))))
                .getMessage().startsWith("network.dhcp.retries"));
    }
}
