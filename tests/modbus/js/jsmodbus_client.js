// jsmodbus 5 client for tests/modbus/test_npm.py: reads, a write, an exception; prints one JSON line.
// usage: node jsmodbus_client.js PORT COUNT WRITE_ADDR WRITE_VALUE BAD_ADDR
"use strict";
const net = require("net");
const Modbus = require("jsmodbus");

const [port, count, writeAddr, writeValue, badAddr] = process.argv.slice(2).map(Number);
const socket = new net.Socket();
const client = new Modbus.client.TCP(socket, 1, 3000);
const timer = setTimeout(() => { console.error("timeout"); process.exit(3); }, 15000);

socket.on("error", (e) => { console.error(String(e)); process.exit(2); });
socket.on("connect", async () => {
  const out = {};
  try {
    const hr = await client.readHoldingRegisters(0, count);
    out.holding = hr.response.body.valuesAsArray;
    out.float0 = hr.response.body.valuesAsBuffer.readFloatBE(0);
    const coils = await client.readCoils(0, 3);
    out.coils = coils.response.body.valuesAsArray.slice(0, 3);
    const ir = await client.readInputRegisters(0, 4);
    out.input = ir.response.body.valuesAsArray;
    await client.writeSingleRegister(writeAddr, writeValue);
    out.written = true;
    try {
      await client.readHoldingRegisters(badAddr, 1);
      out.exception = null;
    } catch (e) {
      out.exception = e.response ? e.response.body.code : String(e.err || e);
    }
    try {
      await client.writeSingleRegister(0, 1);  // read-only point
      out.roException = null;
    } catch (e) {
      out.roException = e.response ? e.response.body.code : String(e.err || e);
    }
    console.log(JSON.stringify(out));
    clearTimeout(timer);
    socket.end();
  } catch (e) {
    console.error("failed: " + JSON.stringify(e && (e.err || e.message || e)));
    process.exit(1);
  }
});
socket.connect({ host: "127.0.0.1", port });
