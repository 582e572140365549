package io.pvecri.network;

import java.io.IOException;

/**
 * Loads {@link NftRuleset} scripts into the host netns. When the kernel refuses SCTP rules it
 * loads the ruleset without them, says so once, and keeps skipping SCTP.
 */
final class Firewall {
    private static final System.Logger LOG = System.getLogger(Firewall.class.getName());

    private final HostTools host;
    private boolean sctp = true;

    Firewall(HostTools host) {
        this.host = host;
    }

    synchronized void apply(NftRuleset.Input input) throws IOException {
        NftRuleset.Input in = new NftRuleset.Input(input.table(), input.bridges(), input.cidr4(), input.cidr6(),
                input.masquerade(), input.pods(), sctp);
        Exec.Result r = host.nft(NftRuleset.render(in));
        if (r.ok()) {
            return;
        }
        boolean hasSctp = in.pods().stream().anyMatch(p -> p.activePorts().stream().anyMatch(m -> m.protocol() == Protocol.SCTP));
        if (sctp && hasSctp) {
            Exec.Result without = host.nft(NftRuleset.render(new NftRuleset.Input(in.table(), in.bridges(), in.cidr4(),
                    in.cidr6(), in.masquerade(), in.pods(), false)));
            if (without.ok()) {
                sctp = false;
                LOG.log(System.Logger.Level.WARNING, "network.sctp_unsupported: the kernel refused SCTP hostPort rules ({0}); SCTP mappings are skipped",
                        r.describe());
                return;
            }
        }
        throw new IOException(r.describe());
    }

    /** Whether the library's table exists on the host (so there may be stale rules to clean up). */
    boolean tableExists(String table) throws IOException {
        return host.nftCommand("list", "table", "inet", table).ok();
    }

    synchronized boolean sctpSupported() {
        return sctp;
    }
}
