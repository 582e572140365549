package io.pvecri.proxmox.node;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CtConfigFileTest {

    private static final String PVE_FILE = """
            #pod web-0 in namespace default
            #container nginx
            arch: amd64
            cores: 2
            hostname: web
            memory: 512
            rootfs: local-zfs:basevol-900-disk-0/subvol-901-disk-0,size=4G
            unprivileged: 1
            lxc.init.cmd: /.pve-cri/init /.pve-cri/spec
            lxc.mount.entry: /a b none bind 0 0
            lxc.mount.entry: /c d none bind 0 0

            [pve:pending]
            memory: 1024
            """;

    @Test
    void roundTripsPveLayoutKeepingRawOrderAndSections() {
        CtConfigFile c = CtConfigFile.parse(PVE_FILE);
        assertEquals(PVE_FILE, c.render());
        assertEquals("pod web-0 in namespace default\ncontainer nginx", c.description());
        assertEquals(3, c.rawLxc().size());
        assertEquals(Map.entry("lxc.mount.entry", "/c d none bind 0 0"), c.rawLxc().get(2));
        assertTrue(c.hasSections());
    }

    @Test
    void optionsStaySortedAndRawEntriesFollowThem() {
        CtConfigFile c = CtConfigFile.parse("memory: 512\nlxc.cgroup2.memory.max = 1G\n");
        c.set("arch", "amd64");
        c.addRaw("lxc.mount.auto", "proc:rw");
        assertEquals("arch: amd64\nmemory: 512\nlxc.cgroup2.memory.max: 1G\nlxc.mount.auto: proc:rw\n", c.render());
        c.removeRaw((k, v) -> k.equals("lxc.cgroup2.memory.max"));
        assertEquals("arch: amd64\nmemory: 512\nlxc.mount.auto: proc:rw\n", c.render());
    }

    @Test
    void refusesValuesThatWouldInjectLines() {
        CtConfigFile c = new CtConfigFile();
        assertThrows(IllegalArgumentException.class, () -> c.set("hostname", "a\nlxc.rootfs.path: /"));
        assertThrows(IllegalArgumentException.class, () -> c.addRaw("lxc.mount.entry", "x\nmemory: 1"));
        assertThrows(IllegalArgumentException.class, () -> c.addRaw("memory", "1"));
        assertThrows(IllegalArgumentException.class, () -> c.set("lxc.init.cmd", "/bin/sh"));
    }

    @Test
    void digestChangesWithContent() {
        CtConfigFile a = CtConfigFile.parse("memory: 512\n");
        String before = a.digest();
        a.addRaw("lxc.init.cmd", "/x");
        assertTrue(!before.equals(a.digest()));
        assertEquals(40, before.length());
    }

    @Test
    void descriptionIsEncodedAsPveDoes() {
        CtConfigFile c = new CtConfigFile();
        c.setDescription("pod: web-0 (100% ready)\nnamespace: défaut\n");
        // encode_text: ':' and non-ASCII bytes as %XX, '%' and spaces kept; trailing empty lines dropped
        assertEquals("#pod%3A web-0 (100% ready)\n#namespace%3A d%C3%A9faut\n", c.render());
        assertEquals("pod: web-0 (100% ready)\nnamespace: défaut", CtConfigFile.parse(c.render()).description());
        CtConfigFile d = CtConfigFile.parse("description: one%20line\nmemory: 512\n");
        assertEquals("one line", d.description());
        assertEquals("#one%20line\nmemory: 512\n", d.render());
    }
}
