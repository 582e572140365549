package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** PVE's Perl scalars: numbers as strings, booleans as 1/0/"". */
class JsonLeniencyTest {

    private static JsonNode json(String s) throws Exception {
        return Json.MAPPER.readTree(s);
    }

    @Test
    void statusFromAnEightZeroEraNode() throws Exception {
        // wire example: status/current with numbers as strings (PVE 8.0)
        LxcStatus s = LxcStatus.from(json("""
                {"vmid":"506","status":"running","pid":"114348","disk":"2843205632","maxdisk":8589934592,
                 "cpus":2,"cpu":0.0123,"mem":"52428800","maxmem":536870912,"uptime":"42","name":"ct506",
                 "template":"","tags":"pvecri;pod-a","ha":{"managed":0}}"""));
        assertEquals(506, s.vmid());
        assertEquals(114348, s.pid());
        assertEquals(2843205632L, s.disk());
        assertEquals(52428800L, s.mem());
        assertFalse(s.template());
        assertTrue(s.running());
        assertEquals(java.util.Set.of("pvecri", "pod-a"), s.tags());
    }

    @Test
    void booleansAndMissingFields() throws Exception {
        JsonNode n = json("{\"a\":1,\"b\":0,\"c\":\"\",\"d\":true,\"e\":\"1\",\"f\":null}");
        assertTrue(Json.bool(n, "a", false));
        assertFalse(Json.bool(n, "b", true));
        assertFalse(Json.bool(n, "c", true));
        assertTrue(Json.bool(n, "d", false));
        assertTrue(Json.bool(n, "e", false));
        assertTrue(Json.bool(n, "f", true));
        assertTrue(Json.bool(n, "missing", true));
        assertEquals(7, Json.number(json("{\"x\":\"7\"}"), "x", 0));
        assertEquals(3, Json.number(json("{\"x\":\"3.9\"}"), "x", 0));
        assertEquals(-1, Json.number(json("{\"x\":\"abc\"}"), "x", -1));
    }

    @Test
    void configKeepsRawEntriesAndDigest() throws Exception {
        LxcConfig c = LxcConfig.from(json("""
                {"memory":512,"hostname":"web","template":1,"digest":"0123456789abcdef0123456789abcdef01234567",
                 "lxc":[["lxc.init.cmd","/sbin/pvecri-init"],["lxc.apparmor.profile","generated"]]}"""));
        assertEquals("512", c.get("memory").orElseThrow());
        assertTrue(c.template());
        assertEquals(2, c.raw().size());
        assertEquals("lxc.init.cmd", c.raw().getFirst().getKey());
        assertFalse(c.values().containsKey("digest"));
        assertFalse(c.values().containsKey("lxc"));
    }
}
