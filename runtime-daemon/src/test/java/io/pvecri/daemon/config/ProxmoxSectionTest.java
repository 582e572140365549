package io.pvecri.daemon.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code proxmox:} keys. */
class ProxmoxSectionTest {
    private static final String FP = "AB:".repeat(31) + "CD";

    @TempDir
    Path dir;

    private ProxmoxSection.FileProxmox file(String url, String tokenId, String fingerprint, Integer vmidMin, Integer vmidMax)
            throws Exception {
        Path secret = dir.resolve("secret");
        Files.writeString(secret, "0b5c3c4e-8f7a-4c1e-9d2a-1234567890ab\n");
        return new ProxmoxSection.FileProxmox(url, "pve1", tokenId, secret, fingerprint, null, null, null, null, vmidMin,
                vmidMax, null, null, null, null);
    }

    @Test
    void defaultsForAMinimalSection() throws Exception {
        ProxmoxSection.Settings s = ProxmoxSection.parse(file("https://pve1:8006", "pve-cri@pve!cri", FP, null, null));
        assertEquals("local", s.templateStorage());
        assertEquals("local-zfs", s.rootfsStorage());
        assertEquals("pve-cri", s.tag());
        assertEquals(900_000, s.vmidMin());
        assertEquals(Path.of("/"), s.nodeRoot());
    }

    @Test
    void badValuesNameTheirKeyAndSayWhatToDo() throws Exception {
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(null)).getMessage().contains("needs a 'proxmox:' section"));
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(file("http://pve1:8006", "a@pve!cri", FP, null, null)))
                .getMessage().startsWith("proxmox.url"));
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(file("https://pve1:8006", "root@pam", FP, null, null)))
                .getMessage().startsWith("proxmox.tokenId"));
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(file("https://pve1:8006", "a@pve!cri", "AB:CD", null, null)))
                .getMessage().startsWith("proxmox.fingerprint"));
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(file("https://pve1:8006", "a@pve!cri", null, null, null)))
                .getMessage().contains("exactly one of fingerprint"));
        assertTrue(assertThrows(ConfigException.class, () -> ProxmoxSection.parse(file("https://pve1:8006", "a@pve!cri", FP, 2000, 1000)))
                .getMessage().startsWith("proxmox.vmidMin/vmidMax"));
    }
}
