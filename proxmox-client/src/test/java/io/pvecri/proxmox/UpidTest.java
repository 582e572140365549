package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpidTest {

    @ParameterizedTest(name = "{0} survives parse and format unchanged")
    @ValueSource(strings = {
            // seen on the wire (Telmate/terraform-provider-proxmox)
            "UPID:proxmox2:000D7AA2:08D5A17C:63DF62A5:vzclone:200:root@pam!api_token:",
            "UPID:pve1:00001F40:0012D687:67A1B2C3:vzcreate:100:root@pam:",
            // empty id (upload: imgcopy), realm with dashes, token with dots
            "UPID:pve-node-01:0000ABCD:00000001:6700000F:imgcopy::svc@pve-realm!ci.token_1:",
            // imgdel id "<vmid>@<storage>", OCI pull
            "UPID:n1:00000002:00000003:00000004:imgdel:101@local-zfs:root@pam!t:",
            "UPID:n1:00000002:00000003:00000004:ociregistrypull::root@pam:",
            // pstart after ~497 days of uptime needs 9 hex digits
            "UPID:pve1:00002001:1000000A0:67A1B2C3:vzstart:105:root@pam:",
            // single-character node name
            "UPID:a:00000001:00000001:00000001:vzdestroy:999999999:root@pam:",
    })
    void roundTrip(String text) {
        Upid u = Upid.parse(text);
        assertEquals(text, u.toString());
        assertEquals(u, Upid.parse(u.toString()));
        assertTrue(Upid.isUpid(text));
    }

    @Test
    void fieldsAreDecodedAsPveDoes() {
        Upid u = Upid.parse("UPID:proxmox2:000D7AA2:08D5A17C:63DF62A5:vzclone:200:root@pam!api_token:");
        assertEquals("proxmox2", u.node());
        assertEquals(0x000D7AA2L, u.pid());
        assertEquals(0x08D5A17CL, u.pstart());
        assertEquals(Instant.ofEpochSecond(0x63DF62A5L), u.startedAt());
        assertEquals("vzclone", u.type());
        assertEquals("200", u.id());
        assertEquals(200, u.vmid());
        assertEquals("root@pam!api_token", u.user());
        assertEquals("5", u.logSubdir()); // /var/log/pve/tasks/<last hex digit of starttime>/
    }

    @Test
    void lowerCaseHexIsAcceptedAndFormattedUpperCase() {
        Upid u = Upid.parse("UPID:pve1:000d7aa2:08d5a17c:63df62a5:vzstop:200:root@pam:");
        assertEquals("UPID:pve1:000D7AA2:08D5A17C:63DF62A5:vzstop:200:root@pam:", u.toString());
    }

    @Test
    void nonVmidIdsHaveNoVmid() {
        assertEquals(-1, Upid.parse("UPID:n1:00000002:00000003:00000004:imgdel:101@local-zfs:root@pam:").vmid());
        assertEquals(-1, Upid.parse("UPID:n1:00000002:00000003:00000004:imgcopy::root@pam:").vmid());
    }

    @ParameterizedTest(name = "rejects {0}")
    @ValueSource(strings = {
            "UPID:pve1:00001F40:0012D687:67A1B2C3:vzcreate:100:root@pam",      // no trailing colon
            "UPID:pve1:1F40:0012D687:67A1B2C3:vzcreate:100:root@pam:",          // pid not 8 digits
            "UPID:pve1:00001F40:0012D687:7A1B2C3:vzcreate:100:root@pam:",       // starttime 7 digits
            "UPID:pve1:00001F40:0012D68712:67A1B2C3:vzcreate:100:root@pam:",    // pstart 10 digits
            "UPID:-pve1:00001F40:0012D687:67A1B2C3:vzcreate:100:root@pam:",     // node starts with '-'
            "UPID:pve1:00001F40:0012D687:67A1B2C3::100:root@pam:",             // empty type
            "UPID:pve1:00001F40:0012D687:67A1B2C3:vzcreate:100::",             // empty user
            "UPID:pve1:00001F40:0012D687:67A1B2C3:vz create:100:root@pam:",    // space in type
            "UPID:pve1:00001F40:0012D687:67A1B2C3:vzcreate:a/b:root@pam:",     // slash in id
            "upid:pve1:00001F40:0012D687:67A1B2C3:vzcreate:100:root@pam:",     // prefix is case-sensitive
            "",
    })
    void rejectsMalformed(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Upid.parse(text));
        assertEquals("unable to parse worker upid '" + text + "'", e.getMessage());
        assertFalse(Upid.isUpid(text));
    }

    @Test
    void constructorRejectsFieldsThatWouldNotParse() {
        assertThrows(IllegalArgumentException.class, () -> new Upid("pve1", 1, 1, 1, "vz:x", "", "root@pam"));
        assertThrows(IllegalArgumentException.class, () -> new Upid("pve1", 0x1_0000_0000L, 1, 1, "vzstart", "", "root@pam"));
        assertThrows(IllegalArgumentException.class, () -> new Upid("pve_1", 1, 1, 1, "vzstart", "", "root@pam"));
    }
}
