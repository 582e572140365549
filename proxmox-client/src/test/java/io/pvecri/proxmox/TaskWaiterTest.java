package io.pvecri.proxmox;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TaskWaiterTest {

    @Test
    void successReturnsOkStatus() {
        try (Fixture f = new Fixture()) {
            Upid upid = f.lxc().create(100, PveParams.of().with("ostemplate", Fixture.TEMPLATE).with("storage", "local-zfs"));
            assertEquals("vzcreate", upid.type());
            assertEquals("100", upid.id());
            assertEquals(Fixture.TOKEN_ID, upid.user());
            TaskStatus s = f.client.taskWaiter().await(upid, Duration.ofSeconds(5));
            assertInstanceOf(TaskState.Ok.class, s.state());
            assertEquals("root@pam!pvecri", s.user());
            assertTrue(f.client.tasks().log(upid, 0, 0).getLast().text().equals("TASK OK"));
        }
    }

    @Test
    void failureThrowsWithLogTail() {
        try (Fixture f = new Fixture()) {
            f.pve.faults().failTasks("vzcreate", 1, "unable to detect OS distribution");
            Upid upid = f.lxc().create(100, PveParams.of().with("ostemplate", Fixture.TEMPLATE).with("storage", "local-zfs"));
            var e = assertThrows(PveException.TaskFailed.class, () -> f.client.taskWaiter().await(upid, Duration.ofSeconds(5)));
            assertEquals("unable to create CT 100 - unable to detect OS distribution", e.exitStatus());
            assertEquals("extracting archive '" + Fixture.TEMPLATE + "'", e.logTail().getFirst());
            assertEquals("TASK ERROR: unable to create CT 100 - unable to detect OS distribution", e.logTail().getLast());
            assertTrue(f.pve.cluster().guest(100).isEmpty(), "a failed create removes the config");
        }
    }

    @Test
    void missingTemplateFailsTheCreateTask() {
        try (Fixture f = new Fixture()) {
            Upid upid = f.lxc().create(100, PveParams.of().with("ostemplate", "local:vztmpl/nope.tar.zst").with("storage", "local-zfs"));
            var e = assertThrows(PveException.TaskFailed.class, () -> f.client.taskWaiter().await(upid, Duration.ofSeconds(5)));
            assertEquals("unable to create CT 100 - volume 'local:vztmpl/nope.tar.zst' does not exist", e.exitStatus());
        }
    }

    @Test
    void deadlineGivesTaskTimeoutAndTaskCanBeStopped() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            f.pve.faults().taskDuration("vzstart", Duration.ofSeconds(20));
            Upid upid = f.lxc().start(100);
            var e = assertThrows(PveException.TaskTimeout.class, () -> f.client.taskWaiter().await(upid, Duration.ofMillis(300)));
            assertEquals(upid, e.upid());
            assertInstanceOf(TaskState.Running.class, f.client.tasks().status(upid).state());
            f.client.tasks().stop(upid);
            var killed = assertThrows(PveException.TaskFailed.class, () -> f.client.taskWaiter().await(upid, Duration.ofSeconds(5)));
            assertEquals("received interrupt", killed.exitStatus());
        }
    }

    @Test
    void slowTaskAndFlakyPollingStillSucceed() {
        try (Fixture f = new Fixture()) {
            f.createCt(100, Map.of());
            f.pve.faults().taskDuration("vzstart", Duration.ofMillis(400));
            Upid upid = f.lxc().start(100);
            f.pve.faults().drop("GET", "/nodes/pve1/tasks/.*/status", 2);
            f.pve.faults().respond("GET", "/nodes/pve1/tasks/.*/status", 2, 596, "Connection timed out");
            TaskStatus s = f.client.taskWaiter().await(upid, Duration.ofSeconds(5));
            assertTrue(s.state().succeeded());
            assertTrue(f.lxc().status(100).running());
        }
    }

    @Test
    void unknownTaskIsNotFound() {
        try (Fixture f = new Fixture()) {
            Upid ghost = Upid.parse("UPID:pve1:00001234:00ABCDEF:67000000:vzstart:100:root@pam!pvecri:");
            var e = assertThrows(PveException.NotFound.class, () -> f.client.taskWaiter().await(ghost, Duration.ofSeconds(1)));
            assertEquals("no such task", e.pveMessage());
        }
    }

    @Test
    void exitStatusMapping() {
        assertInstanceOf(TaskState.Running.class, TaskState.of("running", null));
        assertInstanceOf(TaskState.Ok.class, TaskState.of("stopped", "OK"));
        assertEquals(new TaskState.Warnings(3), TaskState.of("stopped", "WARNINGS: 3"));
        assertTrue(TaskState.of("stopped", "WARNINGS: 3").succeeded());
        assertEquals(new TaskState.Failed("unexpected status"), TaskState.of("stopped", null));
        assertEquals(new TaskState.Failed("WARNINGS: x"), TaskState.of("stopped", "WARNINGS: x"));
        assertEquals("WARNINGS: 3", new TaskState.Warnings(3).exitStatus());
    }
}
