package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FormEncodingTest {

    @Test
    void booleansTravelAsOneAndZero() {
        PveParams p = PveParams.of().with("unprivileged", true).with("start", false).with("memory", 512);
        assertEquals("unprivileged=1&start=0&memory=512", FormEncoding.encode(p.values()));
    }

    @Test
    void separatorsAndSpecialCharactersArePercentEncoded() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("tags", "pvecri;pod-a");                            // PVE splits pairs on ';' too
        m.put("net0", "name=eth0,bridge=vmbr0,ip=10.0.0.2/24");    // '=' would truncate the value in PVE's decoder
        m.put("description", "a & b + c 100%");
        m.put("env", "A=1\u0000B=x y");                           // NUL-separated list
        m.put("hostname", "héllo");
        assertEquals("tags=pvecri%3Bpod-a"
                + "&net0=name%3Deth0%2Cbridge%3Dvmbr0%2Cip%3D10.0.0.2%2F24"
                + "&description=a%20%26%20b%20%2B%20c%20100%25"
                + "&env=A%3D1%00B%3Dx%20y"
                + "&hostname=h%C3%A9llo", FormEncoding.encode(m));
    }

    @Test
    void valuesSurviveTheTripThroughPvesDecoder() {
        // the emulator decodes like PVE::APIServer::AnyEvent::decode_urlencoded: split on & and ;, then on =
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            String description = "a=b;c&d +%20 100% héllo\nnext";
            String env = "PATH=/usr/bin\u0000GREETING=hi there;x=1";
            f.lxc().updateConfig(100, ConfigUpdate.set(PveParams.of().with("description", description).with("env", env)
                    .with("tags", "pvecri;pod-a").with("onboot", false)));
            var cfg = f.pve.cluster().guest(100).orElseThrow().config();
            assertEquals(description, cfg.get("description"));
            assertEquals(env, cfg.get("env"));
            assertEquals("pvecri;pod-a", cfg.get("tags"));
            assertEquals("0", cfg.get("onboot"));
        }
    }

    @Test
    void unreservedCharactersStay() {
        assertEquals("AZaz09-._~", FormEncoding.component("AZaz09-._~"));
    }

    @Test
    void paramsAreImmutableAndValidated() {
        PveParams a = PveParams.of().with("memory", 512);
        PveParams b = a.with("swap", 0);
        assertEquals(1, a.values().size());
        assertEquals(2, b.values().size());
        assertThrows(IllegalArgumentException.class, () -> PveParams.of().with("bad key", "x"));
        assertThrows(UnsupportedOperationException.class, () -> b.values().put("x", "y"));
    }

    @Test
    void configUpdateCarriesDeleteAndDigest() {
        ConfigUpdate u = ConfigUpdate.set(PveParams.of().with("memory", 1024)).deleting("mp0", "net1").ifDigest("abc");
        assertEquals("memory=1024&delete=mp0%2Cnet1&digest=abc", FormEncoding.encode(u.toParams().values()));
        assertThrows(IllegalArgumentException.class, () -> new ConfigUpdate(PveParams.of(), java.util.List.of(), java.util.Optional.empty()));
    }

    @Test
    void cloneOptionsRefuseStorageForLinkedClones() {
        assertEquals("newid=101&full=0&hostname=web", FormEncoding.encode(CloneOptions.linked().withHostname("web").toParams(101).values()));
        assertThrows(IllegalArgumentException.class, () -> CloneOptions.linked().withStorage("local-zfs"));
    }
}
