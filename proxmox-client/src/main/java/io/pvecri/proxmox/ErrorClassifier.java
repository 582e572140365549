package io.pvecri.proxmox;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a PVE error reply into a {@link PveException}. PVE puts almost every refusal into HTTP 500
 * with a text (PVE::HTTPServer::rest_handler: any {@code die} becomes 500, {@code raise_param_exc} 400
 * with {@code errors}, {@code raise_perm_exc} 403), so the status picks the family and the message the
 * kind. The texts are the ones in the Perl sources (pve-guest-common AbstractConfig, pve-common Tools,
 * pve-cluster Cluster, pve-container API2/LXC*).
 */
final class ErrorClassifier {

    // "can't lock file '/run/lock/lxc/pve-config-100.lock' - got timeout" (PVE::Tools::lock_file_full),
    // also for /var/lock/qemu-server/lock-<id>.conf and /var/lock/pve-manager/pve-storage-<store>;
    // "CT is locked (disk)" / "VM is locked (backup)" (AbstractConfig::check_lock);
    // "cfs-lock 'storage-x' error: got lock request timeout" (shared storage lock).
    private static final Pattern LOCKED = Pattern.compile(
            "can't lock file '[^']*' - got timeout|\\b(?:CT|VM) is locked \\(|cfs-lock '[^']*' error: got lock request timeout"
                    + "|can't acquire lock '[^']*'");
    // "CT 100 already exists on node 'pve1'" (PVE::Cluster::check_vmid_unused), nextid: "VM 100 already exists"
    private static final Pattern EXISTS = Pattern.compile("\\b(?:CT|VM) (\\d+) already exists\\b");
    private static final Pattern NOT_FOUND = Pattern.compile(
            "^Configuration file '[^']*' does not exist|\\bdoes not exist\\b|^no such task|\\bno such (?:VM|CT|volume|storage|node)\\b");
    private static final Pattern CHANGED = Pattern.compile("detected modified configuration - file changed by other user");
    // API2/LXC/Status.pm: "CT 100 already running", "CT 100 not running", reboot: "VM 100 not running";
    // destroy: "unable to destroy CT 100 - container is running"
    private static final Pattern STATE = Pattern.compile(
            "^(?:CT|VM) \\d+ (?:already running|not running)$|container is running$|you can't start a CT if it's a template");
    private static final Pattern UNAVAILABLE = Pattern.compile("cluster not ready - no quorum\\?|\\bno quorum\\b");

    private ErrorClassifier() {
    }

    static boolean isLockMessage(String message) {
        return LOCKED.matcher(message).find();
    }

    /**
     * @param status   HTTP status
     * @param message  PVE's message (JSON {@code message}, else reason phrase), trailing newline removed
     * @param errors   the {@code errors} object of a 400, empty otherwise
     * @param endpoint {@code METHOD /template}
     */
    static PveException classify(int status, String message, Map<String, String> errors, String endpoint) {
        switch (status) {
            case 401:
                return new PveException.AuthFailed(message, status, endpoint);
            case 403:
                return new PveException.PermissionDenied(message, status, endpoint);
            case 404:
                return new PveException.NotFound(message, status, endpoint);
            case 502, 503, 504, 595, 596, 599:
                return new PveException.Unavailable(message, status, endpoint, null);
            default:
                break;
        }
        if (status == 400 && !errors.isEmpty()) {
            return classifyParamErrors(message, errors, endpoint);
        }
        return classifyText(status, message, endpoint);
    }

    private static PveException classifyParamErrors(String message, Map<String, String> errors, String endpoint) {
        String vmidError = errors.get("vmid");
        if (vmidError != null) {
            Matcher m = EXISTS.matcher(vmidError);
            if (m.find()) {
                return new PveException.AlreadyExists(vmidError, 400, endpoint, Integer.parseInt(m.group(1)));
            }
        }
        String upidError = errors.get("upid");
        if (upidError != null && upidError.equals("no such task")) {
            return new PveException.NotFound(upidError, 400, endpoint);
        }
        return new PveException.InvalidParameter(message, 400, endpoint, errors);
    }

    private static PveException classifyText(int status, String message, String endpoint) {
        if (LOCKED.matcher(message).find()) {
            return new PveException.Locked(message, status, endpoint);
        }
        Matcher exists = EXISTS.matcher(message);
        if (exists.find()) {
            return new PveException.AlreadyExists(message, status, endpoint, Integer.parseInt(exists.group(1)));
        }
        if (CHANGED.matcher(message).find()) {
            return new PveException.ConfigChanged(message, status, endpoint);
        }
        if (STATE.matcher(message).find()) {
            return new PveException.InvalidState(message, status, endpoint);
        }
        if (NOT_FOUND.matcher(message).find()) {
            return new PveException.NotFound(message, status, endpoint);
        }
        if (UNAVAILABLE.matcher(message).find()) {
            return new PveException.Unavailable(message, status, endpoint, null);
        }
        if (status == 400) {
            return new PveException.InvalidParameter(message, status, endpoint, Map.of());
        }
        return new PveException.ApiError(message, status, endpoint);
    }
}
