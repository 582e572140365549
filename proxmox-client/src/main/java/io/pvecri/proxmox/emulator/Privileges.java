package io.pvecri.proxmox.emulator;

import java.util.List;
import java.util.Set;

/**
 * PVE's privilege names ({@code PVE::AccessControl} {@code $privgroups} plus {@code Permissions.Modify}):
 * the special role {@code Administrator} holds every one of them; and the paths
 * {@code get_effective_permissions} always lists.
 */
final class Privileges {

    private Privileges() {
    }

    /** Every valid privilege, i.e. the {@code Administrator} role. */
    static final Set<String> ADMINISTRATOR = Set.of(
            "VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
            "VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.Replicate",
            "VM.Snapshot", "VM.Snapshot.Rollback", "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup",
            "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt",
            "VM.Audit", "VM.GuestAgent.Audit",
            "Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork", "Sys.Console", "Sys.Syslog", "Sys.Audit",
            "Datastore.Allocate", "Datastore.AllocateTemplate", "Datastore.AllocateSpace", "Datastore.Audit",
            "SDN.Allocate", "SDN.Audit", "SDN.Use",
            "Realm.Allocate", "User.Modify", "Group.Allocate", "Realm.AllocateUser",
            "Pool.Allocate", "Pool.Audit",
            "Mapping.Modify", "Mapping.Use", "Mapping.Audit",
            "Permissions.Modify");

    /** The top-level paths {@code GET /access/permissions} without {@code path} always looks at. */
    static final List<String> TOP_LEVEL_PATHS = List.of("/", "/access", "/access/groups", "/nodes", "/pool", "/sdn",
            "/storage", "/vms");

    /** Whether an ACL entry on {@code aclPath} reaches {@code path} (the entry's path or below it; PVE ACLs propagate). */
    static boolean covers(String aclPath, String path) {
        return aclPath.equals(path) || aclPath.equals("/") || path.startsWith(aclPath + "/");
    }
}
