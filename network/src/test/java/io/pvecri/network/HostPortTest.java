package io.pvecri.network;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** hostPort DNAT: from the host itself (loopback and its own addresses) and from other pods. */
class HostPortTest extends NetTestSupport {

    @Test
    void hostPortIsReachableFromHostAndPods() throws Exception {
        PodNetworks nets = open(config().build());
        Path web = ns.pod("web");
        Path client = ns.pod("client");
        String webId = newPodId();
        NetworkStatus s = nets.setUp(request(webId, "web", web, Map.of(), Map.of(),
                List.of(PortMapping.tcp(80, 18080), new PortMapping(Protocol.UDP, 53, 18053, null),
                        new PortMapping(Protocol.SCTP, 9000, 19000, null))));
        String clientId = newPodId();
        nets.setUp(request(clientId, "client", client));
        ns.httpd(web, 80, "hello from web", tmp.resolve("www"));

        assertEquals("hello from web", Netnses.get(ns.host(), "http://127.0.0.1:18080/index.html"), "host loopback -> hostPort");
        assertEquals("hello from web", Netnses.get(ns.host(), "http://10.88.0.1:18080/index.html"), "host address -> hostPort");
        assertEquals("hello from web", Netnses.get(client, "http://10.88.0.1:18080/index.html"), "other pod -> hostPort");
        assertEquals("hello from web", Netnses.get(web, "http://10.88.0.1:18080/index.html"), "hairpin: pod -> its own hostPort");
        assertEquals("hello from web", Netnses.get(ns.host(), "http://" + s.ip() + ":80/index.html"), "direct");

        String rules = nftTable("inet", "pvecri");
        assertTrue(rules.contains("comment \"pod:" + webId + "\""), rules);
        assertTrue(rules.contains("udp dport 18053 dnat ip to " + s.ip() + ":53"), rules);

        // Conflict: same protocol and port, wildcard host IP, another pod -> PortConflict naming it
        Path other = ns.pod("other");
        var e = assertThrows(NetworkException.PortConflict.class, () -> nets.setUp(request(newPodId(), "other", other,
                Map.of(), Map.of(), List.of(PortMapping.tcp(8080, 18080)))));
        assertEquals(webId, e.otherPodId());
        assertTrue(e.getMessage().contains(webId) && e.getMessage().contains("default/web"), e.getMessage());
        // Same port on another protocol is fine; so is a specific host IP on a free port
        String otherId = newPodId();
        nets.setUp(request(otherId, "other", other, Map.of(), Map.of(),
                List.of(new PortMapping(Protocol.UDP, 8080, 18080, null), new PortMapping(Protocol.TCP, 80, 18081, "10.88.0.1"))));
        ns.httpd(other, 80, "hello from other", tmp.resolve("www2"));
        assertEquals("hello from other", Netnses.get(ns.host(), "http://10.88.0.1:18081/index.html"));
        assertNull(Netnses.get(ns.host(), "http://127.0.0.1:18081/index.html"), "bound to 10.88.0.1 only");

        assertEquals(List.of(), nets.tearDown(webId));
        assertNull(Netnses.get(ns.host(), "http://127.0.0.1:18080/index.html"), "mapping gone after tearDown");
        assertTrue(!nftTable("inet", "pvecri").contains(webId));
        assertEquals(List.of(), nets.tearDown(otherId));
        assertEquals(List.of(), nets.tearDown(clientId));
        assertEquals(0, nftRuleCount("pvecri"));
    }
}
