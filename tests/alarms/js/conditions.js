// node-opcua client for the alarm tests: subscribe to condition events on the Server object,
// Acknowledge the first active+unacked one, then ConditionRefresh. Protocol on stdout, one line each:
//   SUBSCRIBED            -> the test raises the alarm
//   ACKED <status>        -> the test steps the PLC so the ack is applied
//   RESULT <json>         -> final report
// usage: node conditions.js URL CONDITION_NAME
const { OPCUAClient, AttributeIds, TimestampsToReturn, ClientSubscription, ClientMonitoredItem,
        constructEventFilter, DataType } = require("node-opcua-client");

const [url, wanted] = process.argv.slice(2);
const hardStop = setTimeout(() => { console.error("FAILED: hard timeout"); process.exit(3); }, 60000);
const fields = ["EventId", "EventType", "SourceName", "Message", "Severity", "ConditionName", "Retain",
                "ActiveState.Id", "AckedState.Id", "ConditionId"];

function waitFor(pred, ms) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = () => {
      const v = pred();
      if (v) return resolve(v);
      if (Date.now() - t0 > ms) return reject(new Error("timeout waiting"));
      setTimeout(tick, 20);
    };
    tick();
  });
}

(async () => {
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 1 } });
  await client.connect(url);
  const session = await client.createSession();
  const sub = ClientSubscription.create(session, { requestedPublishingInterval: 50, requestedLifetimeCount: 600,
    requestedMaxKeepAliveCount: 10, maxNotificationsPerPublish: 1000, publishingEnabled: true, priority: 1 });
  await new Promise((r) => sub.on("started", r));
  const events = [];
  const mi = ClientMonitoredItem.create(sub, { nodeId: "i=2253", attributeId: AttributeIds.EventNotifier },
    { samplingInterval: 0, queueSize: 1000, discardOldest: false, filter: constructEventFilter(fields) },
    TimestampsToReturn.Neither);
  mi.on("changed", (values) => {
    const e = {};
    fields.forEach((f, i) => { e[f] = values[i].value; });
    events.push(e);
  });
  await new Promise((r) => mi.on("initialized", r));
  console.log("SUBSCRIBED");
  const first = await waitFor(() => events.find((e) => e.ConditionName === wanted && e["ActiveState.Id"] === true
                                                   && e["AckedState.Id"] === false), 20000);
  const ack = await session.call({ objectId: first.ConditionId, methodId: "ns=0;i=9111", inputArguments: [
    { dataType: DataType.ByteString, value: first.EventId },
    { dataType: DataType.LocalizedText, value: { text: "acknowledged by node-opcua" } }] });
  console.log("ACKED " + ack.statusCode.name);
  await waitFor(() => events.find((e) => e.ConditionName === wanted && e["AckedState.Id"] === true), 20000);
  const before = events.length;
  const refresh = await session.call({ objectId: "ns=0;i=2782", methodId: "ns=0;i=3875",
    inputArguments: [{ dataType: DataType.UInt32, value: sub.subscriptionId }] });
  await waitFor(() => events.slice(before).find((e) => e.ConditionName === wanted), 20000);
  const refreshed = events.slice(before).filter((e) => e.ConditionName === wanted);
  const result = {
    ack: ack.statusCode.name, refresh: refresh.statusCode.name,
    first: { severity: first.Severity, retain: first.Retain, source: first.SourceName,
             eventType: first.EventType.toString(), conditionId: first.ConditionId.toString() },
    refreshed: refreshed.map((e) => ({ acked: e["AckedState.Id"], active: e["ActiveState.Id"], retain: e.Retain })),
    eventTypes: [...new Set(events.map((e) => e.EventType && e.EventType.toString()))],
  };
  console.log("RESULT " + JSON.stringify(result));
  await sub.terminate(); await session.close(); await client.disconnect();
  clearTimeout(hardStop);
  process.exit(0);
})().catch((e) => { console.error("FAILED:", e.message); process.exit(1); });
