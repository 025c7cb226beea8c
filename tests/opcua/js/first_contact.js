// First contact as UaExpert does it: a client with its own application certificate opens a session.
// usage: node first_contact.js CONFIG_JSON   {"url", "pki", "secure": bool}
// Prints one JSON object: {"ok": true, "state": <ServerState>} or {"ok": false, "error": "..."}.
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds } = require("node-opcua-client");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");

const cfg = JSON.parse(process.argv[2]);
const hardStop = setTimeout(() => { console.log(JSON.stringify({ ok: false, error: "hard timeout" })); process.exit(0); }, 40000);

(async () => {
  // the client trusts the server's certificate (as a user clicks "trust" in UaExpert); the server's
  // trust list is what is under test
  const certificateManager = new OPCUACertificateManager({ rootFolder: cfg.pki, automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    applicationName: "plc-emulator-first-contact", applicationUri: "urn:plc-emulator:first-contact",
    endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    securityMode: cfg.secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
    securityPolicy: cfg.secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
    clientCertificateManager: certificateManager,
  });
  let out;
  try {
    await client.connect(cfg.url);
    const session = await client.createSession();
    const dv = await session.read({ nodeId: "i=2259", attributeId: AttributeIds.Value });
    out = { ok: true, state: dv.value.value, securityMode: client.securityMode };
    await session.close();
  } catch (err) {
    out = { ok: false, error: String(err && err.message ? err.message : err) };
  }
  try { await client.disconnect(); } catch (_) { /* already gone */ }
  clearTimeout(hardStop);
  console.log(JSON.stringify(out));
  process.exit(0);
})();
