// node-opcua client for the OPC UA tests. Prints one JSON object on stdout.
// usage: node client.js CONFIG_JSON
//   {"url", "nsUri", "plant", "secure": bool, "user", "password", "pki", "subscribeMs", "writeValue", "step"}
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, TimestampsToReturn, ClientSubscription,
  ClientMonitoredItemGroup, UserTokenType, BrowseDirection, NodeClass, DataType,
} = require("node-opcua-client");
const { OPCUACertificateManager } = require("node-opcua-certificate-manager");

const cfg = JSON.parse(process.argv[2]);
const hardStop = setTimeout(() => { console.error("FAILED: hard timeout"); process.exit(3); }, 60000);

async function browseAll(session, start) {
  const out = [];
  let frontier = [start];
  for (let depth = 0; depth < 6 && frontier.length; depth++) {
    const next = [];
    const results = await session.browse(frontier.map((nodeId) => ({
      nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId: "HierarchicalReferences",
      includeSubtypes: true, nodeClassMask: 0, resultMask: 63,
    })));
    for (const r of results) {
      for (const ref of r.references || []) {
        const id = ref.nodeId.toString();
        out.push({ nodeId: id, browseName: ref.browseName.toString(), nodeClass: ref.nodeClass,
                   typeDefinition: ref.typeDefinition.toString() });
        if (ref.nodeClass === NodeClass.Object) next.push(id);
      }
    }
    frontier = next;
  }
  return out;
}

// UInt64 comes back as [high, low]
const num = (v) => (Array.isArray(v) ? v[0] * 4294967296 + v[1] : Number(v));

async function child(session, nodeId, name) {
  const r = await session.translateBrowsePath({ startingNode: nodeId, relativePath: { elements: [{
    referenceTypeId: "i=46", isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: 0, name } }] } });
  return r.targets && r.targets.length ? r.targets[0].targetId.toString() : null;
}

(async () => {
  const certificateManager = new OPCUACertificateManager({ rootFolder: cfg.pki, automaticallyAcceptUnknownCertificate: true });
  const client = OPCUAClient.create({
    applicationName: "plc-emulator-node-test", applicationUri: "urn:plc-emulator:node-test",
    endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
    securityMode: cfg.secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
    securityPolicy: cfg.secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
    clientCertificateManager: certificateManager,
  });
  const result = {};
  await client.connect(cfg.url);
  const session = cfg.user
    ? await client.createSession({ type: UserTokenType.UserName, userName: cfg.user, password: cfg.password })
    : await client.createSession();
  result.securityMode = client.securityMode;
  const ns = (await session.readNamespaceArray()).indexOf(cfg.nsUri);
  const plantId = `ns=${ns};s=${cfg.plant}`;
  const nodes = await browseAll(session, plantId);
  result.nodes = nodes;
  const vars = nodes.filter((n) => n.nodeClass === NodeClass.Variable && !n.browseName.startsWith("0:"));
  // values + status of every variable
  const dvs = await session.read(vars.map((v) => ({ nodeId: v.nodeId, attributeId: AttributeIds.Value })));
  result.values = vars.map((v, i) => ({ nodeId: v.nodeId, value: dvs[i].value.value,
                                       status: dvs[i].statusCode.name, statusValue: dvs[i].statusCode.value }));
  // EU and EURange of every AnalogItemType variable
  result.analog = [];
  for (const v of vars.filter((x) => x.typeDefinition.endsWith("i=2368"))) {
    const r = await child(session, v.nodeId, "EURange");
    const e = await child(session, v.nodeId, "EngineeringUnits");
    const [rv, ev] = await session.read([{ nodeId: r, attributeId: AttributeIds.Value },
                                         { nodeId: e, attributeId: AttributeIds.Value }]);
    result.analog.push({ nodeId: v.nodeId, low: rv.value.value.low, high: rv.value.value.high,
                         unitId: ev.value.value.unitId, unit: ev.value.value.displayName.text });
  }
  // subscription to every tag at 100 ms
  if (cfg.subscribeMs) {
    const sub = ClientSubscription.create(session, { requestedPublishingInterval: 100, requestedLifetimeCount: 600,
      requestedMaxKeepAliveCount: 20, maxNotificationsPerPublish: 0, publishingEnabled: true, priority: 1 });
    const tags = vars.filter((v) => !v.nodeId.includes(".Diagnostics."));
    const group = ClientMonitoredItemGroup.create(sub, tags.map((v) => ({ nodeId: v.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval: 100, discardOldest: true, queueSize: 50 }, TimestampsToReturn.Both);
    const notes = [];
    group.on("changed", (item, dv) => notes.push([item.itemToMonitor.nodeId.toString(), dv.sourceTimestamp.getTime(),
                                                  dv.statusCode.name]));
    await new Promise((r) => setTimeout(r, cfg.subscribeMs));
    result.notifications = notes;
    await sub.terminate();
  }
  const sim = `ns=${ns};s=${cfg.plant}.Simulation`;
  if (cfg.writeValue !== undefined) {
    const sc = await session.write({ nodeId: `ns=${ns};s=LIC100.sp`, attributeId: AttributeIds.Value,
                                     value: { value: { dataType: DataType.Double, value: cfg.writeValue } } });
    result.writeStatus = sc.name;
  }
  if (cfg.step) {
    const tick = `ns=${ns};s=${cfg.plant}.Diagnostics.Tick`;
    const pause = await session.call({ objectId: sim, methodId: `${sim}.Pause`, inputArguments: [] });
    result.pauseStatus = pause.statusCode.name;
    await new Promise((r) => setTimeout(r, 400));
    const before = (await session.read({ nodeId: tick, attributeId: AttributeIds.Value })).value.value;
    const step = await session.call({ objectId: sim, methodId: `${sim}.Step`,
                                      inputArguments: [{ dataType: DataType.UInt32, value: cfg.step }] });
    result.stepStatus = step.statusCode.name;
    let after = before;
    for (let i = 0; i < 100 && num(after) < num(before) + cfg.step; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = (await session.read({ nodeId: tick, attributeId: AttributeIds.Value })).value.value;
    }
    result.tickBefore = num(before); result.tickAfter = num(after);
  }
  await session.close();
  await client.disconnect();
  clearTimeout(hardStop);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
})().catch((e) => { console.error("FAILED:", e.message); process.exit(1); });
