// node-opcua client: browse the typed model. Prints one JSON object on stdout.
// usage: node typed_model.js '{"url", "nsUri", "plant"}'
// For every object below the plant (two levels): its type definition's browse name and its
// HasComponent targets (nodeId, browseName); for every ObjectType below BaseObjectType in the
// plant namespace: its subtypes.
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, BrowseDirection, NodeClass, AttributeIds } =
  require("node-opcua-client");

const cfg = JSON.parse(process.argv[2]);
const hardStop = setTimeout(() => { console.error("FAILED: hard timeout"); process.exit(3); }, 60000);

async function refs(session, nodeId, referenceTypeId, nodeClassMask = 0) {
  const r = await session.browse({ nodeId, browseDirection: BrowseDirection.Forward, referenceTypeId,
                                   includeSubtypes: false, nodeClassMask, resultMask: 63 });
  return r.references || [];
}

(async () => {
  const client = OPCUAClient.create({ endpointMustExist: false, securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 } });
  await client.connect(cfg.url);
  const session = await client.createSession();
  const ns = (await session.readNamespaceArray()).indexOf(cfg.nsUri);
  const result = { objects: {}, subtypes: {} };
  const names = new Map();
  async function typeName(id) {
    if (!names.has(id)) {
      const dv = await session.read({ nodeId: id, attributeId: AttributeIds.BrowseName });
      names.set(id, dv.value.value.name);
    }
    return names.get(id);
  }
  let frontier = [`ns=${ns};s=${cfg.plant}`];
  for (let depth = 0; depth < 2; depth++) {
    const next = [];
    for (const parent of frontier) {
      for (const ref of await refs(session, parent, "HasComponent", NodeClass.Object)) {
        const id = ref.nodeId.toString();
        const comps = (await refs(session, id, "HasComponent")).map((c) => ({
          nodeId: c.nodeId.toString(), browseName: c.browseName.name, nodeClass: c.nodeClass }));
        result.objects[id] = { browseName: ref.browseName.name, type: await typeName(ref.typeDefinition.toString()),
                               components: comps };
        next.push(id);
      }
    }
    frontier = next;
  }
  const equipment = `ns=${ns};s=EquipmentType`;
  result.subtypes.BaseObjectType = (await refs(session, "i=58", "HasSubtype")).map((r) => r.browseName.name);
  result.subtypes.EquipmentType = (await refs(session, equipment, "HasSubtype")).map((r) => r.browseName.name);
  await session.close();
  await client.disconnect();
  clearTimeout(hardStop);
  process.stdout.write(JSON.stringify(result) + "\n");
  process.exit(0);
})().catch((e) => { console.error("FAILED:", e.message); process.exit(1); });
