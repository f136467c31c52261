/*eslint-disable block-scoped-var, id-length, no-control-regex, no-magic-numbers, no-mixed-operators, no-prototype-builtins, no-redeclare, no-shadow, no-var, sort-vars, default-case, jsdoc/require-param*/
import $protobuf from "protobufjs/minimal.js";

// 64-bit fields as numbers (scripts/gen-proto.js says why).
$protobuf.util.Long = null;
$protobuf.configure();

// Common aliases
const $Reader = $protobuf.Reader, $Writer = $protobuf.Writer, $util = $protobuf.util;
const $Object = $util.global.Object, $undefined = $util.global.undefined, $Error = $util.global.Error, $RangeError = $util.global.RangeError;

// Exported root namespace
const $root = $protobuf.roots["default"] || ($protobuf.roots["default"] = {});

export const hushwire = $root.hushwire = (() => {

    /**
     * Namespace hushwire.
     * @exports hushwire
     * @namespace
     */
    const hushwire = {};

    hushwire.v1 = (function() {

        /**
         * Namespace v1.
         * @memberof hushwire
         * @namespace
         */
        const v1 = {};

        v1.Frame = (function() {

            /**
             * Properties of a Frame.
             * @typedef {Object} hushwire.v1.Frame.$Properties
             * @property {Array.<hushwire.v1.Op.$Properties>|null} [ops] Frame ops
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Frame.
             * @memberof hushwire.v1
             * @interface IFrame
             * @augments hushwire.v1.Frame.$Properties
             * @deprecated Use hushwire.v1.Frame.$Properties instead.
             */

            /**
             * Shape of a Frame.
             * @typedef {{
             *   ops?: Array.<hushwire.v1.Op.$Shape>|null;
             *   $unknowns?: Array.<Uint8Array>;
             * }} hushwire.v1.Frame.$Shape
             */

            /**
             * Constructs a new Frame.
             * @memberof hushwire.v1
             * @classdesc Represents a Frame.
             * @constructor
             * @param {hushwire.v1.Frame.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Frame = function (properties) {
                this.ops = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Frame ops.
             * @member {Array.<hushwire.v1.Op.$Properties>} ops
             * @memberof hushwire.v1.Frame
             * @instance
             */
            Frame.prototype.ops = $util.emptyArray;

            /**
             * Creates a new Frame instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Frame
             * @static
             * @param {hushwire.v1.Frame.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Frame} Frame instance
             * @type {{
             *   (properties: hushwire.v1.Frame.$Shape): hushwire.v1.Frame & hushwire.v1.Frame.$Shape;
             *   (properties?: hushwire.v1.Frame.$Properties): hushwire.v1.Frame;
             * }}
             */
            Frame.create = function(properties) {
                return new Frame(properties);
            };

            /**
             * Encodes the specified Frame message. Does not implicitly {@link hushwire.v1.Frame.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Frame
             * @static
             * @param {hushwire.v1.Frame.$Properties} message Frame message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Frame.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.ops != null && message.ops.length)
                    for (let i = 0; i < message.ops.length; ++i)
                        $root.hushwire.v1.Op.encode(message.ops[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Frame message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Frame
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Frame & hushwire.v1.Frame.$Shape} Frame
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Frame.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Frame();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.ops && message.ops.length))
                                message.ops = [];
                            message.ops.push($root.hushwire.v1.Op.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Frame
             * @function getTypeUrl
             * @memberof hushwire.v1.Frame
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Frame.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Frame";
            };

            return Frame;
        })();

        v1.Op = (function() {

            /**
             * Properties of an Op.
             * @typedef {Object} hushwire.v1.Op.$Properties
             * @property {number|null} [req] Op req
             * @property {hushwire.v1.Challenge.$Properties|null} [challenge] Op challenge
             * @property {hushwire.v1.Ok.$Properties|null} [ok] Op ok
             * @property {hushwire.v1.Error.$Properties|null} [error] Op error
             * @property {hushwire.v1.Registered.$Properties|null} [registered] Op registered
             * @property {hushwire.v1.Evaluated.$Properties|null} [evaluated] Op evaluated
             * @property {hushwire.v1.Devices.$Properties|null} [devices] Op devices
             * @property {hushwire.v1.SendResult.$Properties|null} [sendResult] Op sendResult
             * @property {hushwire.v1.Deliver.$Properties|null} [deliver] Op deliver
             * @property {hushwire.v1.Reconnect.$Properties|null} [reconnect] Op reconnect
             * @property {hushwire.v1.VerifyStarted.$Properties|null} [verifyStarted] Op verifyStarted
             * @property {hushwire.v1.Notice.$Properties|null} [notice] Op notice
             * @property {hushwire.v1.DevicesBatch.$Properties|null} [devicesBatch] Op devicesBatch
             * @property {hushwire.v1.Ticket.$Properties|null} [ticket] Op ticket
             * @property {hushwire.v1.Auth.$Properties|null} [auth] Op auth
             * @property {hushwire.v1.VerifyStart.$Properties|null} [verifyStart] Op verifyStart
             * @property {hushwire.v1.RegisterDevice.$Properties|null} [register] Op register
             * @property {hushwire.v1.Evaluate.$Properties|null} [evaluate] Op evaluate
             * @property {hushwire.v1.Lookup.$Properties|null} [lookup] Op lookup
             * @property {hushwire.v1.Send.$Properties|null} [send] Op send
             * @property {hushwire.v1.DeliverAck.$Properties|null} [deliverAck] Op deliverAck
             * @property {hushwire.v1.Unregister.$Properties|null} [unregister] Op unregister
             * @property {hushwire.v1.Ping.$Properties|null} [ping] Op ping
             * @property {hushwire.v1.SetPrekey.$Properties|null} [setPrekey] Op setPrekey
             * @property {hushwire.v1.TicketRequest.$Properties|null} [ticketRequest] Op ticketRequest
             * @property {"challenge"|"ok"|"error"|"registered"|"evaluated"|"devices"|"sendResult"|"deliver"|"reconnect"|"verifyStarted"|"notice"|"devicesBatch"|"ticket"|"auth"|"verifyStart"|"register"|"evaluate"|"lookup"|"send"|"deliverAck"|"unregister"|"ping"|"setPrekey"|"ticketRequest"} [body] Op body
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Op.
             * @memberof hushwire.v1
             * @interface IOp
             * @augments hushwire.v1.Op.$Properties
             * @deprecated Use hushwire.v1.Op.$Properties instead.
             */

            /**
             * Narrowed shape of an Op.
             * @typedef {{
             *   req?: number|null;
             *   challenge?: hushwire.v1.Challenge.$Shape|null;
             *   ok?: hushwire.v1.Ok.$Shape|null;
             *   error?: hushwire.v1.Error.$Shape|null;
             *   registered?: hushwire.v1.Registered.$Shape|null;
             *   evaluated?: hushwire.v1.Evaluated.$Shape|null;
             *   devices?: hushwire.v1.Devices.$Shape|null;
             *   sendResult?: hushwire.v1.SendResult.$Shape|null;
             *   deliver?: hushwire.v1.Deliver.$Shape|null;
             *   reconnect?: hushwire.v1.Reconnect.$Shape|null;
             *   verifyStarted?: hushwire.v1.VerifyStarted.$Shape|null;
             *   notice?: hushwire.v1.Notice.$Shape|null;
             *   devicesBatch?: hushwire.v1.DevicesBatch.$Shape|null;
             *   ticket?: hushwire.v1.Ticket.$Shape|null;
             *   auth?: hushwire.v1.Auth.$Shape|null;
             *   verifyStart?: hushwire.v1.VerifyStart.$Shape|null;
             *   register?: hushwire.v1.RegisterDevice.$Shape|null;
             *   evaluate?: hushwire.v1.Evaluate.$Shape|null;
             *   lookup?: hushwire.v1.Lookup.$Shape|null;
             *   send?: hushwire.v1.Send.$Shape|null;
             *   deliverAck?: hushwire.v1.DeliverAck.$Shape|null;
             *   unregister?: hushwire.v1.Unregister.$Shape|null;
             *   ping?: hushwire.v1.Ping.$Shape|null;
             *   setPrekey?: hushwire.v1.SetPrekey.$Shape|null;
             *   ticketRequest?: hushwire.v1.TicketRequest.$Shape|null;
             *   $unknowns?: Array.<Uint8Array>;
             * } & (
             *   ({ body?: undefined; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "challenge"; challenge: hushwire.v1.Challenge.$Shape; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ok"; challenge?: null; ok: hushwire.v1.Ok.$Shape; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "error"; challenge?: null; ok?: null; error: hushwire.v1.Error.$Shape; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "registered"; challenge?: null; ok?: null; error?: null; registered: hushwire.v1.Registered.$Shape; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "evaluated"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated: hushwire.v1.Evaluated.$Shape; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "devices"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices: hushwire.v1.Devices.$Shape; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "sendResult"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult: hushwire.v1.SendResult.$Shape; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "deliver"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver: hushwire.v1.Deliver.$Shape; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "reconnect"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect: hushwire.v1.Reconnect.$Shape; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "verifyStarted"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted: hushwire.v1.VerifyStarted.$Shape; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "notice"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice: hushwire.v1.Notice.$Shape; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "devicesBatch"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch: hushwire.v1.DevicesBatch.$Shape; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ticket"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket: hushwire.v1.Ticket.$Shape; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "auth"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth: hushwire.v1.Auth.$Shape; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "verifyStart"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart: hushwire.v1.VerifyStart.$Shape; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "register"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register: hushwire.v1.RegisterDevice.$Shape; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "evaluate"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate: hushwire.v1.Evaluate.$Shape; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "lookup"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup: hushwire.v1.Lookup.$Shape; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "send"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send: hushwire.v1.Send.$Shape; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "deliverAck"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck: hushwire.v1.DeliverAck.$Shape; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "unregister"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister: hushwire.v1.Unregister.$Shape; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ping"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping: hushwire.v1.Ping.$Shape; setPrekey?: null; ticketRequest?: null }|{ body?: "setPrekey"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey: hushwire.v1.SetPrekey.$Shape; ticketRequest?: null }|{ body?: "ticketRequest"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest: hushwire.v1.TicketRequest.$Shape })
             * )} hushwire.v1.Op.$Shape
             */

            /**
             * Constructs a new Op.
             * @memberof hushwire.v1
             * @classdesc Represents an Op.
             * @constructor
             * @param {hushwire.v1.Op.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Op = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Op req.
             * @member {number} req
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.req = 0;

            /**
             * Op challenge.
             * @member {hushwire.v1.Challenge.$Properties|null|undefined} challenge
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.challenge = null;

            /**
             * Op ok.
             * @member {hushwire.v1.Ok.$Properties|null|undefined} ok
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.ok = null;

            /**
             * Op error.
             * @member {hushwire.v1.Error.$Properties|null|undefined} error
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.error = null;

            /**
             * Op registered.
             * @member {hushwire.v1.Registered.$Properties|null|undefined} registered
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.registered = null;

            /**
             * Op evaluated.
             * @member {hushwire.v1.Evaluated.$Properties|null|undefined} evaluated
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.evaluated = null;

            /**
             * Op devices.
             * @member {hushwire.v1.Devices.$Properties|null|undefined} devices
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.devices = null;

            /**
             * Op sendResult.
             * @member {hushwire.v1.SendResult.$Properties|null|undefined} sendResult
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.sendResult = null;

            /**
             * Op deliver.
             * @member {hushwire.v1.Deliver.$Properties|null|undefined} deliver
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.deliver = null;

            /**
             * Op reconnect.
             * @member {hushwire.v1.Reconnect.$Properties|null|undefined} reconnect
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.reconnect = null;

            /**
             * Op verifyStarted.
             * @member {hushwire.v1.VerifyStarted.$Properties|null|undefined} verifyStarted
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.verifyStarted = null;

            /**
             * Op notice.
             * @member {hushwire.v1.Notice.$Properties|null|undefined} notice
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.notice = null;

            /**
             * Op devicesBatch.
             * @member {hushwire.v1.DevicesBatch.$Properties|null|undefined} devicesBatch
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.devicesBatch = null;

            /**
             * Op ticket.
             * @member {hushwire.v1.Ticket.$Properties|null|undefined} ticket
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.ticket = null;

            /**
             * Op auth.
             * @member {hushwire.v1.Auth.$Properties|null|undefined} auth
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.auth = null;

            /**
             * Op verifyStart.
             * @member {hushwire.v1.VerifyStart.$Properties|null|undefined} verifyStart
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.verifyStart = null;

            /**
             * Op register.
             * @member {hushwire.v1.RegisterDevice.$Properties|null|undefined} register
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.register = null;

            /**
             * Op evaluate.
             * @member {hushwire.v1.Evaluate.$Properties|null|undefined} evaluate
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.evaluate = null;

            /**
             * Op lookup.
             * @member {hushwire.v1.Lookup.$Properties|null|undefined} lookup
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.lookup = null;

            /**
             * Op send.
             * @member {hushwire.v1.Send.$Properties|null|undefined} send
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.send = null;

            /**
             * Op deliverAck.
             * @member {hushwire.v1.DeliverAck.$Properties|null|undefined} deliverAck
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.deliverAck = null;

            /**
             * Op unregister.
             * @member {hushwire.v1.Unregister.$Properties|null|undefined} unregister
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.unregister = null;

            /**
             * Op ping.
             * @member {hushwire.v1.Ping.$Properties|null|undefined} ping
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.ping = null;

            /**
             * Op setPrekey.
             * @member {hushwire.v1.SetPrekey.$Properties|null|undefined} setPrekey
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.setPrekey = null;

            /**
             * Op ticketRequest.
             * @member {hushwire.v1.TicketRequest.$Properties|null|undefined} ticketRequest
             * @memberof hushwire.v1.Op
             * @instance
             */
            Op.prototype.ticketRequest = null;

            // OneOf field names bound to virtual getters and setters
            let $oneOfFields;

            /**
             * Op body.
             * @member {"challenge"|"ok"|"error"|"registered"|"evaluated"|"devices"|"sendResult"|"deliver"|"reconnect"|"verifyStarted"|"notice"|"devicesBatch"|"ticket"|"auth"|"verifyStart"|"register"|"evaluate"|"lookup"|"send"|"deliverAck"|"unregister"|"ping"|"setPrekey"|"ticketRequest"|undefined} body
             * @memberof hushwire.v1.Op
             * @instance
             */
            $Object.defineProperty(Op.prototype, "body", {
                get: $util.oneOfGetter($oneOfFields = ["challenge", "ok", "error", "registered", "evaluated", "devices", "sendResult", "deliver", "reconnect", "verifyStarted", "notice", "devicesBatch", "ticket", "auth", "verifyStart", "register", "evaluate", "lookup", "send", "deliverAck", "unregister", "ping", "setPrekey", "ticketRequest"]),
                set: $util.oneOfSetter($oneOfFields)
            });

            /**
             * Creates a new Op instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Op
             * @static
             * @param {hushwire.v1.Op.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Op} Op instance
             * @type {{
             *   (properties: hushwire.v1.Op.$Shape): hushwire.v1.Op & hushwire.v1.Op.$Shape;
             *   (properties?: hushwire.v1.Op.$Properties): hushwire.v1.Op;
             * }}
             */
            Op.create = function(properties) {
                return new Op(properties);
            };

            /**
             * Encodes the specified Op message. Does not implicitly {@link hushwire.v1.Op.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Op
             * @static
             * @param {hushwire.v1.Op.$Properties} message Op message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Op.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.req != null && $Object.hasOwnProperty.call(message, "req") && message.req !== 0)
                    writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.req);
                if (message.challenge != null && $Object.hasOwnProperty.call(message, "challenge"))
                    $root.hushwire.v1.Challenge.encode(message.challenge, writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
                if (message.ok != null && $Object.hasOwnProperty.call(message, "ok"))
                    $root.hushwire.v1.Ok.encode(message.ok, writer.uint32(/* id 3, wireType 2 =*/26).fork(), _depth + 1).ldelim();
                if (message.error != null && $Object.hasOwnProperty.call(message, "error"))
                    $root.hushwire.v1.Error.encode(message.error, writer.uint32(/* id 4, wireType 2 =*/34).fork(), _depth + 1).ldelim();
                if (message.registered != null && $Object.hasOwnProperty.call(message, "registered"))
                    $root.hushwire.v1.Registered.encode(message.registered, writer.uint32(/* id 5, wireType 2 =*/42).fork(), _depth + 1).ldelim();
                if (message.evaluated != null && $Object.hasOwnProperty.call(message, "evaluated"))
                    $root.hushwire.v1.Evaluated.encode(message.evaluated, writer.uint32(/* id 6, wireType 2 =*/50).fork(), _depth + 1).ldelim();
                if (message.devices != null && $Object.hasOwnProperty.call(message, "devices"))
                    $root.hushwire.v1.Devices.encode(message.devices, writer.uint32(/* id 7, wireType 2 =*/58).fork(), _depth + 1).ldelim();
                if (message.sendResult != null && $Object.hasOwnProperty.call(message, "sendResult"))
                    $root.hushwire.v1.SendResult.encode(message.sendResult, writer.uint32(/* id 8, wireType 2 =*/66).fork(), _depth + 1).ldelim();
                if (message.deliver != null && $Object.hasOwnProperty.call(message, "deliver"))
                    $root.hushwire.v1.Deliver.encode(message.deliver, writer.uint32(/* id 9, wireType 2 =*/74).fork(), _depth + 1).ldelim();
                if (message.reconnect != null && $Object.hasOwnProperty.call(message, "reconnect"))
                    $root.hushwire.v1.Reconnect.encode(message.reconnect, writer.uint32(/* id 10, wireType 2 =*/82).fork(), _depth + 1).ldelim();
                if (message.verifyStarted != null && $Object.hasOwnProperty.call(message, "verifyStarted"))
                    $root.hushwire.v1.VerifyStarted.encode(message.verifyStarted, writer.uint32(/* id 11, wireType 2 =*/90).fork(), _depth + 1).ldelim();
                if (message.notice != null && $Object.hasOwnProperty.call(message, "notice"))
                    $root.hushwire.v1.Notice.encode(message.notice, writer.uint32(/* id 12, wireType 2 =*/98).fork(), _depth + 1).ldelim();
                if (message.devicesBatch != null && $Object.hasOwnProperty.call(message, "devicesBatch"))
                    $root.hushwire.v1.DevicesBatch.encode(message.devicesBatch, writer.uint32(/* id 13, wireType 2 =*/106).fork(), _depth + 1).ldelim();
                if (message.ticket != null && $Object.hasOwnProperty.call(message, "ticket"))
                    $root.hushwire.v1.Ticket.encode(message.ticket, writer.uint32(/* id 14, wireType 2 =*/114).fork(), _depth + 1).ldelim();
                if (message.auth != null && $Object.hasOwnProperty.call(message, "auth"))
                    $root.hushwire.v1.Auth.encode(message.auth, writer.uint32(/* id 20, wireType 2 =*/162).fork(), _depth + 1).ldelim();
                if (message.verifyStart != null && $Object.hasOwnProperty.call(message, "verifyStart"))
                    $root.hushwire.v1.VerifyStart.encode(message.verifyStart, writer.uint32(/* id 21, wireType 2 =*/170).fork(), _depth + 1).ldelim();
                if (message.register != null && $Object.hasOwnProperty.call(message, "register"))
                    $root.hushwire.v1.RegisterDevice.encode(message.register, writer.uint32(/* id 22, wireType 2 =*/178).fork(), _depth + 1).ldelim();
                if (message.evaluate != null && $Object.hasOwnProperty.call(message, "evaluate"))
                    $root.hushwire.v1.Evaluate.encode(message.evaluate, writer.uint32(/* id 23, wireType 2 =*/186).fork(), _depth + 1).ldelim();
                if (message.lookup != null && $Object.hasOwnProperty.call(message, "lookup"))
                    $root.hushwire.v1.Lookup.encode(message.lookup, writer.uint32(/* id 24, wireType 2 =*/194).fork(), _depth + 1).ldelim();
                if (message.send != null && $Object.hasOwnProperty.call(message, "send"))
                    $root.hushwire.v1.Send.encode(message.send, writer.uint32(/* id 25, wireType 2 =*/202).fork(), _depth + 1).ldelim();
                if (message.deliverAck != null && $Object.hasOwnProperty.call(message, "deliverAck"))
                    $root.hushwire.v1.DeliverAck.encode(message.deliverAck, writer.uint32(/* id 26, wireType 2 =*/210).fork(), _depth + 1).ldelim();
                if (message.unregister != null && $Object.hasOwnProperty.call(message, "unregister"))
                    $root.hushwire.v1.Unregister.encode(message.unregister, writer.uint32(/* id 27, wireType 2 =*/218).fork(), _depth + 1).ldelim();
                if (message.ping != null && $Object.hasOwnProperty.call(message, "ping"))
                    $root.hushwire.v1.Ping.encode(message.ping, writer.uint32(/* id 28, wireType 2 =*/226).fork(), _depth + 1).ldelim();
                if (message.setPrekey != null && $Object.hasOwnProperty.call(message, "setPrekey"))
                    $root.hushwire.v1.SetPrekey.encode(message.setPrekey, writer.uint32(/* id 29, wireType 2 =*/234).fork(), _depth + 1).ldelim();
                if (message.ticketRequest != null && $Object.hasOwnProperty.call(message, "ticketRequest"))
                    $root.hushwire.v1.TicketRequest.encode(message.ticketRequest, writer.uint32(/* id 30, wireType 2 =*/242).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Op message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Op
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Op & hushwire.v1.Op.$Shape} Op
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Op.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Op();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.req = value;
                            else
                                delete message.req;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.challenge = $root.hushwire.v1.Challenge.decode(reader, reader.size(), $undefined, _depth + 1, message.challenge);
                            message.body = "challenge";
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            message.ok = $root.hushwire.v1.Ok.decode(reader, reader.size(), $undefined, _depth + 1, message.ok);
                            message.body = "ok";
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            message.error = $root.hushwire.v1.Error.decode(reader, reader.size(), $undefined, _depth + 1, message.error);
                            message.body = "error";
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            message.registered = $root.hushwire.v1.Registered.decode(reader, reader.size(), $undefined, _depth + 1, message.registered);
                            message.body = "registered";
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            message.evaluated = $root.hushwire.v1.Evaluated.decode(reader, reader.size(), $undefined, _depth + 1, message.evaluated);
                            message.body = "evaluated";
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            message.devices = $root.hushwire.v1.Devices.decode(reader, reader.size(), $undefined, _depth + 1, message.devices);
                            message.body = "devices";
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            message.sendResult = $root.hushwire.v1.SendResult.decode(reader, reader.size(), $undefined, _depth + 1, message.sendResult);
                            message.body = "sendResult";
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            message.deliver = $root.hushwire.v1.Deliver.decode(reader, reader.size(), $undefined, _depth + 1, message.deliver);
                            message.body = "deliver";
                            continue;
                        }
                    case 10: {
                            if (wireType !== 2)
                                break;
                            message.reconnect = $root.hushwire.v1.Reconnect.decode(reader, reader.size(), $undefined, _depth + 1, message.reconnect);
                            message.body = "reconnect";
                            continue;
                        }
                    case 11: {
                            if (wireType !== 2)
                                break;
                            message.verifyStarted = $root.hushwire.v1.VerifyStarted.decode(reader, reader.size(), $undefined, _depth + 1, message.verifyStarted);
                            message.body = "verifyStarted";
                            continue;
                        }
                    case 12: {
                            if (wireType !== 2)
                                break;
                            message.notice = $root.hushwire.v1.Notice.decode(reader, reader.size(), $undefined, _depth + 1, message.notice);
                            message.body = "notice";
                            continue;
                        }
                    case 13: {
                            if (wireType !== 2)
                                break;
                            message.devicesBatch = $root.hushwire.v1.DevicesBatch.decode(reader, reader.size(), $undefined, _depth + 1, message.devicesBatch);
                            message.body = "devicesBatch";
                            continue;
                        }
                    case 14: {
                            if (wireType !== 2)
                                break;
                            message.ticket = $root.hushwire.v1.Ticket.decode(reader, reader.size(), $undefined, _depth + 1, message.ticket);
                            message.body = "ticket";
                            continue;
                        }
                    case 20: {
                            if (wireType !== 2)
                                break;
                            message.auth = $root.hushwire.v1.Auth.decode(reader, reader.size(), $undefined, _depth + 1, message.auth);
                            message.body = "auth";
                            continue;
                        }
                    case 21: {
                            if (wireType !== 2)
                                break;
                            message.verifyStart = $root.hushwire.v1.VerifyStart.decode(reader, reader.size(), $undefined, _depth + 1, message.verifyStart);
                            message.body = "verifyStart";
                            continue;
                        }
                    case 22: {
                            if (wireType !== 2)
                                break;
                            message.register = $root.hushwire.v1.RegisterDevice.decode(reader, reader.size(), $undefined, _depth + 1, message.register);
                            message.body = "register";
                            continue;
                        }
                    case 23: {
                            if (wireType !== 2)
                                break;
                            message.evaluate = $root.hushwire.v1.Evaluate.decode(reader, reader.size(), $undefined, _depth + 1, message.evaluate);
                            message.body = "evaluate";
                            continue;
                        }
                    case 24: {
                            if (wireType !== 2)
                                break;
                            message.lookup = $root.hushwire.v1.Lookup.decode(reader, reader.size(), $undefined, _depth + 1, message.lookup);
                            message.body = "lookup";
                            continue;
                        }
                    case 25: {
                            if (wireType !== 2)
                                break;
                            message.send = $root.hushwire.v1.Send.decode(reader, reader.size(), $undefined, _depth + 1, message.send);
                            message.body = "send";
                            continue;
                        }
                    case 26: {
                            if (wireType !== 2)
                                break;
                            message.deliverAck = $root.hushwire.v1.DeliverAck.decode(reader, reader.size(), $undefined, _depth + 1, message.deliverAck);
                            message.body = "deliverAck";
                            continue;
                        }
                    case 27: {
                            if (wireType !== 2)
                                break;
                            message.unregister = $root.hushwire.v1.Unregister.decode(reader, reader.size(), $undefined, _depth + 1, message.unregister);
                            message.body = "unregister";
                            continue;
                        }
                    case 28: {
                            if (wireType !== 2)
                                break;
                            message.ping = $root.hushwire.v1.Ping.decode(reader, reader.size(), $undefined, _depth + 1, message.ping);
                            message.body = "ping";
                            continue;
                        }
                    case 29: {
                            if (wireType !== 2)
                                break;
                            message.setPrekey = $root.hushwire.v1.SetPrekey.decode(reader, reader.size(), $undefined, _depth + 1, message.setPrekey);
                            message.body = "setPrekey";
                            continue;
                        }
                    case 30: {
                            if (wireType !== 2)
                                break;
                            message.ticketRequest = $root.hushwire.v1.TicketRequest.decode(reader, reader.size(), $undefined, _depth + 1, message.ticketRequest);
                            message.body = "ticketRequest";
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Op
             * @function getTypeUrl
             * @memberof hushwire.v1.Op
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Op.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Op";
            };

            return Op;
        })();

        v1.Challenge = (function() {

            /**
             * Properties of a Challenge.
             * @typedef {Object} hushwire.v1.Challenge.$Properties
             * @property {Uint8Array|null} [nonce] Challenge nonce
             * @property {number|null} [serverTimeMs] Challenge serverTimeMs
             * @property {Uint8Array|null} [oprfPublicKey] Challenge oprfPublicKey
             * @property {number|null} [maxFrameBytes] Challenge maxFrameBytes
             * @property {number|null} [authDeadlineMs] Challenge authDeadlineMs
             * @property {number|null} [protocol] Challenge protocol
             * @property {Array.<Uint8Array>|null} [oprfShareKeys] Challenge oprfShareKeys
             * @property {number|null} [mailboxMaxAgeS] Challenge mailboxMaxAgeS
             * @property {Uint8Array|null} [resumeKey] Challenge resumeKey
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Challenge.
             * @memberof hushwire.v1
             * @interface IChallenge
             * @augments hushwire.v1.Challenge.$Properties
             * @deprecated Use hushwire.v1.Challenge.$Properties instead.
             */

            /**
             * Shape of a Challenge.
             * @typedef {hushwire.v1.Challenge.$Properties} hushwire.v1.Challenge.$Shape
             */

            /**
             * Constructs a new Challenge.
             * @memberof hushwire.v1
             * @classdesc Represents a Challenge.
             * @constructor
             * @param {hushwire.v1.Challenge.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Challenge = function (properties) {
                this.oprfShareKeys = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Challenge nonce.
             * @member {Uint8Array} nonce
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.nonce = $util.newBuffer([]);

            /**
             * Challenge serverTimeMs.
             * @member {number} serverTimeMs
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.serverTimeMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Challenge oprfPublicKey.
             * @member {Uint8Array} oprfPublicKey
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.oprfPublicKey = $util.newBuffer([]);

            /**
             * Challenge maxFrameBytes.
             * @member {number} maxFrameBytes
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.maxFrameBytes = 0;

            /**
             * Challenge authDeadlineMs.
             * @member {number} authDeadlineMs
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.authDeadlineMs = 0;

            /**
             * Challenge protocol.
             * @member {number} protocol
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.protocol = 0;

            /**
             * Challenge oprfShareKeys.
             * @member {Array.<Uint8Array>} oprfShareKeys
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.oprfShareKeys = $util.emptyArray;

            /**
             * Challenge mailboxMaxAgeS.
             * @member {number} mailboxMaxAgeS
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.mailboxMaxAgeS = 0;

            /**
             * Challenge resumeKey.
             * @member {Uint8Array} resumeKey
             * @memberof hushwire.v1.Challenge
             * @instance
             */
            Challenge.prototype.resumeKey = $util.newBuffer([]);

            /**
             * Creates a new Challenge instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Challenge
             * @static
             * @param {hushwire.v1.Challenge.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Challenge} Challenge instance
             * @type {{
             *   (properties: hushwire.v1.Challenge.$Shape): hushwire.v1.Challenge & hushwire.v1.Challenge.$Shape;
             *   (properties?: hushwire.v1.Challenge.$Properties): hushwire.v1.Challenge;
             * }}
             */
            Challenge.create = function(properties) {
                return new Challenge(properties);
            };

            /**
             * Encodes the specified Challenge message. Does not implicitly {@link hushwire.v1.Challenge.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Challenge
             * @static
             * @param {hushwire.v1.Challenge.$Properties} message Challenge message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Challenge.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.nonce != null && $Object.hasOwnProperty.call(message, "nonce") && message.nonce.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.nonce);
                if (message.serverTimeMs != null && $Object.hasOwnProperty.call(message, "serverTimeMs") && (typeof message.serverTimeMs === "object" ? message.serverTimeMs.low || message.serverTimeMs.high : message.serverTimeMs !== 0))
                    writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.serverTimeMs);
                if (message.oprfPublicKey != null && $Object.hasOwnProperty.call(message, "oprfPublicKey") && message.oprfPublicKey.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.oprfPublicKey);
                if (message.maxFrameBytes != null && $Object.hasOwnProperty.call(message, "maxFrameBytes") && message.maxFrameBytes !== 0)
                    writer.uint32(/* id 4, wireType 0 =*/32).uint32(message.maxFrameBytes);
                if (message.authDeadlineMs != null && $Object.hasOwnProperty.call(message, "authDeadlineMs") && message.authDeadlineMs !== 0)
                    writer.uint32(/* id 5, wireType 0 =*/40).uint32(message.authDeadlineMs);
                if (message.protocol != null && $Object.hasOwnProperty.call(message, "protocol") && message.protocol !== 0)
                    writer.uint32(/* id 6, wireType 0 =*/48).uint32(message.protocol);
                if (message.oprfShareKeys != null && message.oprfShareKeys.length)
                    for (let i = 0; i < message.oprfShareKeys.length; ++i)
                        writer.uint32(/* id 7, wireType 2 =*/58).bytes(message.oprfShareKeys[i]);
                if (message.mailboxMaxAgeS != null && $Object.hasOwnProperty.call(message, "mailboxMaxAgeS") && message.mailboxMaxAgeS !== 0)
                    writer.uint32(/* id 8, wireType 0 =*/64).uint32(message.mailboxMaxAgeS);
                if (message.resumeKey != null && $Object.hasOwnProperty.call(message, "resumeKey") && message.resumeKey.length)
                    writer.uint32(/* id 9, wireType 2 =*/74).bytes(message.resumeKey);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Challenge message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Challenge
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Challenge & hushwire.v1.Challenge.$Shape} Challenge
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Challenge.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Challenge();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.nonce = value;
                            else
                                delete message.nonce;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.serverTimeMs = value;
                            else
                                delete message.serverTimeMs;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.oprfPublicKey = value;
                            else
                                delete message.oprfPublicKey;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.maxFrameBytes = value;
                            else
                                delete message.maxFrameBytes;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.authDeadlineMs = value;
                            else
                                delete message.authDeadlineMs;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.protocol = value;
                            else
                                delete message.protocol;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if (!(message.oprfShareKeys && message.oprfShareKeys.length))
                                message.oprfShareKeys = [];
                            message.oprfShareKeys.push(reader.bytes());
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.mailboxMaxAgeS = value;
                            else
                                delete message.mailboxMaxAgeS;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.resumeKey = value;
                            else
                                delete message.resumeKey;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Challenge
             * @function getTypeUrl
             * @memberof hushwire.v1.Challenge
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Challenge.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Challenge";
            };

            return Challenge;
        })();

        v1.Ok = (function() {

            /**
             * Properties of an Ok.
             * @typedef {Object} hushwire.v1.Ok.$Properties
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Ok.
             * @memberof hushwire.v1
             * @interface IOk
             * @augments hushwire.v1.Ok.$Properties
             * @deprecated Use hushwire.v1.Ok.$Properties instead.
             */

            /**
             * Shape of an Ok.
             * @typedef {hushwire.v1.Ok.$Properties} hushwire.v1.Ok.$Shape
             */

            /**
             * Constructs a new Ok.
             * @memberof hushwire.v1
             * @classdesc Represents an Ok.
             * @constructor
             * @param {hushwire.v1.Ok.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Ok = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Creates a new Ok instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Ok
             * @static
             * @param {hushwire.v1.Ok.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Ok} Ok instance
             * @type {{
             *   (properties: hushwire.v1.Ok.$Shape): hushwire.v1.Ok & hushwire.v1.Ok.$Shape;
             *   (properties?: hushwire.v1.Ok.$Properties): hushwire.v1.Ok;
             * }}
             */
            Ok.create = function(properties) {
                return new Ok(properties);
            };

            /**
             * Encodes the specified Ok message. Does not implicitly {@link hushwire.v1.Ok.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Ok
             * @static
             * @param {hushwire.v1.Ok.$Properties} message Ok message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Ok.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Ok message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Ok
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Ok & hushwire.v1.Ok.$Shape} Ok
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Ok.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Ok();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    reader.skipType(tag & 7, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Ok
             * @function getTypeUrl
             * @memberof hushwire.v1.Ok
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Ok.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Ok";
            };

            return Ok;
        })();

        v1.Error = (function() {

            /**
             * Properties of an Error.
             * @typedef {Object} hushwire.v1.Error.$Properties
             * @property {string|null} [code] Error code
             * @property {string|null} [message] Error message
             * @property {number|null} [retryAfterMs] Error retryAfterMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Error.
             * @memberof hushwire.v1
             * @interface IError
             * @augments hushwire.v1.Error.$Properties
             * @deprecated Use hushwire.v1.Error.$Properties instead.
             */

            /**
             * Shape of an Error.
             * @typedef {hushwire.v1.Error.$Properties} hushwire.v1.Error.$Shape
             */

            /**
             * Constructs a new Error.
             * @memberof hushwire.v1
             * @classdesc Represents an Error.
             * @constructor
             * @param {hushwire.v1.Error.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Error = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Error code.
             * @member {string} code
             * @memberof hushwire.v1.Error
             * @instance
             */
            Error.prototype.code = "";

            /**
             * Error message.
             * @member {string} message
             * @memberof hushwire.v1.Error
             * @instance
             */
            Error.prototype.message = "";

            /**
             * Error retryAfterMs.
             * @member {number} retryAfterMs
             * @memberof hushwire.v1.Error
             * @instance
             */
            Error.prototype.retryAfterMs = 0;

            /**
             * Creates a new Error instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Error
             * @static
             * @param {hushwire.v1.Error.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Error} Error instance
             * @type {{
             *   (properties: hushwire.v1.Error.$Shape): hushwire.v1.Error & hushwire.v1.Error.$Shape;
             *   (properties?: hushwire.v1.Error.$Properties): hushwire.v1.Error;
             * }}
             */
            Error.create = function(properties) {
                return new Error(properties);
            };

            /**
             * Encodes the specified Error message. Does not implicitly {@link hushwire.v1.Error.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Error
             * @static
             * @param {hushwire.v1.Error.$Properties} message Error message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Error.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.code != null && $Object.hasOwnProperty.call(message, "code") && message.code !== "")
                    writer.uint32(/* id 1, wireType 2 =*/10).string(message.code);
                if (message.message != null && $Object.hasOwnProperty.call(message, "message") && message.message !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.message);
                if (message.retryAfterMs != null && $Object.hasOwnProperty.call(message, "retryAfterMs") && message.retryAfterMs !== 0)
                    writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.retryAfterMs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Error message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Error
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Error & hushwire.v1.Error.$Shape} Error
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Error.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Error();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.code = value;
                            else
                                delete message.code;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.message = value;
                            else
                                delete message.message;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.retryAfterMs = value;
                            else
                                delete message.retryAfterMs;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Error
             * @function getTypeUrl
             * @memberof hushwire.v1.Error
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Error.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Error";
            };

            return Error;
        })();

        v1.Auth = (function() {

            /**
             * Properties of an Auth.
             * @typedef {Object} hushwire.v1.Auth.$Properties
             * @property {Uint8Array|null} [route] Auth route
             * @property {Uint8Array|null} [device] Auth device
             * @property {Uint8Array|null} [signature] Auth signature
             * @property {boolean|null} [sendOnly] Auth sendOnly
             * @property {Uint8Array|null} [ticket] Auth ticket
             * @property {Uint8Array|null} [proof] Auth proof
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Auth.
             * @memberof hushwire.v1
             * @interface IAuth
             * @augments hushwire.v1.Auth.$Properties
             * @deprecated Use hushwire.v1.Auth.$Properties instead.
             */

            /**
             * Shape of an Auth.
             * @typedef {hushwire.v1.Auth.$Properties} hushwire.v1.Auth.$Shape
             */

            /**
             * Constructs a new Auth.
             * @memberof hushwire.v1
             * @classdesc Represents an Auth.
             * @constructor
             * @param {hushwire.v1.Auth.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Auth = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Auth route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.route = $util.newBuffer([]);

            /**
             * Auth device.
             * @member {Uint8Array} device
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.device = $util.newBuffer([]);

            /**
             * Auth signature.
             * @member {Uint8Array} signature
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.signature = $util.newBuffer([]);

            /**
             * Auth sendOnly.
             * @member {boolean} sendOnly
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.sendOnly = false;

            /**
             * Auth ticket.
             * @member {Uint8Array} ticket
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.ticket = $util.newBuffer([]);

            /**
             * Auth proof.
             * @member {Uint8Array} proof
             * @memberof hushwire.v1.Auth
             * @instance
             */
            Auth.prototype.proof = $util.newBuffer([]);

            /**
             * Creates a new Auth instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Auth
             * @static
             * @param {hushwire.v1.Auth.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Auth} Auth instance
             * @type {{
             *   (properties: hushwire.v1.Auth.$Shape): hushwire.v1.Auth & hushwire.v1.Auth.$Shape;
             *   (properties?: hushwire.v1.Auth.$Properties): hushwire.v1.Auth;
             * }}
             */
            Auth.create = function(properties) {
                return new Auth(properties);
            };

            /**
             * Encodes the specified Auth message. Does not implicitly {@link hushwire.v1.Auth.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Auth
             * @static
             * @param {hushwire.v1.Auth.$Properties} message Auth message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Auth.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.route);
                if (message.device != null && $Object.hasOwnProperty.call(message, "device") && message.device.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.device);
                if (message.signature != null && $Object.hasOwnProperty.call(message, "signature") && message.signature.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.signature);
                if (message.sendOnly != null && $Object.hasOwnProperty.call(message, "sendOnly") && message.sendOnly !== false)
                    writer.uint32(/* id 4, wireType 0 =*/32).bool(message.sendOnly);
                if (message.ticket != null && $Object.hasOwnProperty.call(message, "ticket") && message.ticket.length)
                    writer.uint32(/* id 5, wireType 2 =*/42).bytes(message.ticket);
                if (message.proof != null && $Object.hasOwnProperty.call(message, "proof") && message.proof.length)
                    writer.uint32(/* id 6, wireType 2 =*/50).bytes(message.proof);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Auth message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Auth
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Auth & hushwire.v1.Auth.$Shape} Auth
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Auth.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Auth();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.device = value;
                            else
                                delete message.device;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.signature = value;
                            else
                                delete message.signature;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.sendOnly = value;
                            else
                                delete message.sendOnly;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.ticket = value;
                            else
                                delete message.ticket;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.proof = value;
                            else
                                delete message.proof;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Auth
             * @function getTypeUrl
             * @memberof hushwire.v1.Auth
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Auth.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Auth";
            };

            return Auth;
        })();

        v1.TicketRequest = (function() {

            /**
             * Properties of a TicketRequest.
             * @typedef {Object} hushwire.v1.TicketRequest.$Properties
             * @property {Uint8Array|null} [publicKey] TicketRequest publicKey
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a TicketRequest.
             * @memberof hushwire.v1
             * @interface ITicketRequest
             * @augments hushwire.v1.TicketRequest.$Properties
             * @deprecated Use hushwire.v1.TicketRequest.$Properties instead.
             */

            /**
             * Shape of a TicketRequest.
             * @typedef {hushwire.v1.TicketRequest.$Properties} hushwire.v1.TicketRequest.$Shape
             */

            /**
             * Constructs a new TicketRequest.
             * @memberof hushwire.v1
             * @classdesc Represents a TicketRequest.
             * @constructor
             * @param {hushwire.v1.TicketRequest.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const TicketRequest = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * TicketRequest publicKey.
             * @member {Uint8Array} publicKey
             * @memberof hushwire.v1.TicketRequest
             * @instance
             */
            TicketRequest.prototype.publicKey = $util.newBuffer([]);

            /**
             * Creates a new TicketRequest instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.TicketRequest
             * @static
             * @param {hushwire.v1.TicketRequest.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.TicketRequest} TicketRequest instance
             * @type {{
             *   (properties: hushwire.v1.TicketRequest.$Shape): hushwire.v1.TicketRequest & hushwire.v1.TicketRequest.$Shape;
             *   (properties?: hushwire.v1.TicketRequest.$Properties): hushwire.v1.TicketRequest;
             * }}
             */
            TicketRequest.create = function(properties) {
                return new TicketRequest(properties);
            };

            /**
             * Encodes the specified TicketRequest message. Does not implicitly {@link hushwire.v1.TicketRequest.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.TicketRequest
             * @static
             * @param {hushwire.v1.TicketRequest.$Properties} message TicketRequest message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            TicketRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.publicKey != null && $Object.hasOwnProperty.call(message, "publicKey") && message.publicKey.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.publicKey);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a TicketRequest message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.TicketRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.TicketRequest & hushwire.v1.TicketRequest.$Shape} TicketRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            TicketRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.TicketRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.publicKey = value;
                            else
                                delete message.publicKey;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for TicketRequest
             * @function getTypeUrl
             * @memberof hushwire.v1.TicketRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            TicketRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.TicketRequest";
            };

            return TicketRequest;
        })();

        v1.Ticket = (function() {

            /**
             * Properties of a Ticket.
             * @typedef {Object} hushwire.v1.Ticket.$Properties
             * @property {Uint8Array|null} [ticket] Ticket ticket
             * @property {number|null} [expiresInS] Ticket expiresInS
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Ticket.
             * @memberof hushwire.v1
             * @interface ITicket
             * @augments hushwire.v1.Ticket.$Properties
             * @deprecated Use hushwire.v1.Ticket.$Properties instead.
             */

            /**
             * Shape of a Ticket.
             * @typedef {hushwire.v1.Ticket.$Properties} hushwire.v1.Ticket.$Shape
             */

            /**
             * Constructs a new Ticket.
             * @memberof hushwire.v1
             * @classdesc Represents a Ticket.
             * @constructor
             * @param {hushwire.v1.Ticket.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Ticket = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Ticket ticket.
             * @member {Uint8Array} ticket
             * @memberof hushwire.v1.Ticket
             * @instance
             */
            Ticket.prototype.ticket = $util.newBuffer([]);

            /**
             * Ticket expiresInS.
             * @member {number} expiresInS
             * @memberof hushwire.v1.Ticket
             * @instance
             */
            Ticket.prototype.expiresInS = 0;

            /**
             * Creates a new Ticket instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Ticket
             * @static
             * @param {hushwire.v1.Ticket.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Ticket} Ticket instance
             * @type {{
             *   (properties: hushwire.v1.Ticket.$Shape): hushwire.v1.Ticket & hushwire.v1.Ticket.$Shape;
             *   (properties?: hushwire.v1.Ticket.$Properties): hushwire.v1.Ticket;
             * }}
             */
            Ticket.create = function(properties) {
                return new Ticket(properties);
            };

            /**
             * Encodes the specified Ticket message. Does not implicitly {@link hushwire.v1.Ticket.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Ticket
             * @static
             * @param {hushwire.v1.Ticket.$Properties} message Ticket message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Ticket.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.ticket != null && $Object.hasOwnProperty.call(message, "ticket") && message.ticket.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.ticket);
                if (message.expiresInS != null && $Object.hasOwnProperty.call(message, "expiresInS") && message.expiresInS !== 0)
                    writer.uint32(/* id 2, wireType 0 =*/16).uint32(message.expiresInS);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Ticket message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Ticket
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Ticket & hushwire.v1.Ticket.$Shape} Ticket
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Ticket.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Ticket();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.ticket = value;
                            else
                                delete message.ticket;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.expiresInS = value;
                            else
                                delete message.expiresInS;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Ticket
             * @function getTypeUrl
             * @memberof hushwire.v1.Ticket
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Ticket.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Ticket";
            };

            return Ticket;
        })();

        v1.VerifyStart = (function() {

            /**
             * Properties of a VerifyStart.
             * @typedef {Object} hushwire.v1.VerifyStart.$Properties
             * @property {string|null} [number] VerifyStart number
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a VerifyStart.
             * @memberof hushwire.v1
             * @interface IVerifyStart
             * @augments hushwire.v1.VerifyStart.$Properties
             * @deprecated Use hushwire.v1.VerifyStart.$Properties instead.
             */

            /**
             * Shape of a VerifyStart.
             * @typedef {hushwire.v1.VerifyStart.$Properties} hushwire.v1.VerifyStart.$Shape
             */

            /**
             * Constructs a new VerifyStart.
             * @memberof hushwire.v1
             * @classdesc Represents a VerifyStart.
             * @constructor
             * @param {hushwire.v1.VerifyStart.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const VerifyStart = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * VerifyStart number.
             * @member {string} number
             * @memberof hushwire.v1.VerifyStart
             * @instance
             */
            VerifyStart.prototype.number = "";

            /**
             * Creates a new VerifyStart instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.VerifyStart
             * @static
             * @param {hushwire.v1.VerifyStart.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.VerifyStart} VerifyStart instance
             * @type {{
             *   (properties: hushwire.v1.VerifyStart.$Shape): hushwire.v1.VerifyStart & hushwire.v1.VerifyStart.$Shape;
             *   (properties?: hushwire.v1.VerifyStart.$Properties): hushwire.v1.VerifyStart;
             * }}
             */
            VerifyStart.create = function(properties) {
                return new VerifyStart(properties);
            };

            /**
             * Encodes the specified VerifyStart message. Does not implicitly {@link hushwire.v1.VerifyStart.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.VerifyStart
             * @static
             * @param {hushwire.v1.VerifyStart.$Properties} message VerifyStart message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            VerifyStart.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.number != null && $Object.hasOwnProperty.call(message, "number") && message.number !== "")
                    writer.uint32(/* id 1, wireType 2 =*/10).string(message.number);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a VerifyStart message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.VerifyStart
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.VerifyStart & hushwire.v1.VerifyStart.$Shape} VerifyStart
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            VerifyStart.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.VerifyStart();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.number = value;
                            else
                                delete message.number;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for VerifyStart
             * @function getTypeUrl
             * @memberof hushwire.v1.VerifyStart
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            VerifyStart.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.VerifyStart";
            };

            return VerifyStart;
        })();

        v1.VerifyStarted = (function() {

            /**
             * Properties of a VerifyStarted.
             * @typedef {Object} hushwire.v1.VerifyStarted.$Properties
             * @property {number|null} [expiresInS] VerifyStarted expiresInS
             * @property {string|null} [devCode] VerifyStarted devCode
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a VerifyStarted.
             * @memberof hushwire.v1
             * @interface IVerifyStarted
             * @augments hushwire.v1.VerifyStarted.$Properties
             * @deprecated Use hushwire.v1.VerifyStarted.$Properties instead.
             */

            /**
             * Shape of a VerifyStarted.
             * @typedef {hushwire.v1.VerifyStarted.$Properties} hushwire.v1.VerifyStarted.$Shape
             */

            /**
             * Constructs a new VerifyStarted.
             * @memberof hushwire.v1
             * @classdesc Represents a VerifyStarted.
             * @constructor
             * @param {hushwire.v1.VerifyStarted.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const VerifyStarted = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * VerifyStarted expiresInS.
             * @member {number} expiresInS
             * @memberof hushwire.v1.VerifyStarted
             * @instance
             */
            VerifyStarted.prototype.expiresInS = 0;

            /**
             * VerifyStarted devCode.
             * @member {string} devCode
             * @memberof hushwire.v1.VerifyStarted
             * @instance
             */
            VerifyStarted.prototype.devCode = "";

            /**
             * Creates a new VerifyStarted instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.VerifyStarted
             * @static
             * @param {hushwire.v1.VerifyStarted.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.VerifyStarted} VerifyStarted instance
             * @type {{
             *   (properties: hushwire.v1.VerifyStarted.$Shape): hushwire.v1.VerifyStarted & hushwire.v1.VerifyStarted.$Shape;
             *   (properties?: hushwire.v1.VerifyStarted.$Properties): hushwire.v1.VerifyStarted;
             * }}
             */
            VerifyStarted.create = function(properties) {
                return new VerifyStarted(properties);
            };

            /**
             * Encodes the specified VerifyStarted message. Does not implicitly {@link hushwire.v1.VerifyStarted.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.VerifyStarted
             * @static
             * @param {hushwire.v1.VerifyStarted.$Properties} message VerifyStarted message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            VerifyStarted.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.expiresInS != null && $Object.hasOwnProperty.call(message, "expiresInS") && message.expiresInS !== 0)
                    writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.expiresInS);
                if (message.devCode != null && $Object.hasOwnProperty.call(message, "devCode") && message.devCode !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.devCode);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a VerifyStarted message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.VerifyStarted
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.VerifyStarted & hushwire.v1.VerifyStarted.$Shape} VerifyStarted
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            VerifyStarted.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.VerifyStarted();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.expiresInS = value;
                            else
                                delete message.expiresInS;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.devCode = value;
                            else
                                delete message.devCode;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for VerifyStarted
             * @function getTypeUrl
             * @memberof hushwire.v1.VerifyStarted
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            VerifyStarted.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.VerifyStarted";
            };

            return VerifyStarted;
        })();

        v1.RegisterDevice = (function() {

            /**
             * Properties of a RegisterDevice.
             * @typedef {Object} hushwire.v1.RegisterDevice.$Properties
             * @property {string|null} [number] RegisterDevice number
             * @property {string|null} [code] RegisterDevice code
             * @property {Uint8Array|null} [device] RegisterDevice device
             * @property {Uint8Array|null} [identityKey] RegisterDevice identityKey
             * @property {Uint8Array|null} [prekey] RegisterDevice prekey
             * @property {Uint8Array|null} [prekeySignature] RegisterDevice prekeySignature
             * @property {Uint8Array|null} [signature] RegisterDevice signature
             * @property {Uint8Array|null} [blinded] RegisterDevice blinded
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a RegisterDevice.
             * @memberof hushwire.v1
             * @interface IRegisterDevice
             * @augments hushwire.v1.RegisterDevice.$Properties
             * @deprecated Use hushwire.v1.RegisterDevice.$Properties instead.
             */

            /**
             * Shape of a RegisterDevice.
             * @typedef {hushwire.v1.RegisterDevice.$Properties} hushwire.v1.RegisterDevice.$Shape
             */

            /**
             * Constructs a new RegisterDevice.
             * @memberof hushwire.v1
             * @classdesc Represents a RegisterDevice.
             * @constructor
             * @param {hushwire.v1.RegisterDevice.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const RegisterDevice = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * RegisterDevice number.
             * @member {string} number
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.number = "";

            /**
             * RegisterDevice code.
             * @member {string} code
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.code = "";

            /**
             * RegisterDevice device.
             * @member {Uint8Array} device
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.device = $util.newBuffer([]);

            /**
             * RegisterDevice identityKey.
             * @member {Uint8Array} identityKey
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.identityKey = $util.newBuffer([]);

            /**
             * RegisterDevice prekey.
             * @member {Uint8Array} prekey
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.prekey = $util.newBuffer([]);

            /**
             * RegisterDevice prekeySignature.
             * @member {Uint8Array} prekeySignature
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.prekeySignature = $util.newBuffer([]);

            /**
             * RegisterDevice signature.
             * @member {Uint8Array} signature
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.signature = $util.newBuffer([]);

            /**
             * RegisterDevice blinded.
             * @member {Uint8Array} blinded
             * @memberof hushwire.v1.RegisterDevice
             * @instance
             */
            RegisterDevice.prototype.blinded = $util.newBuffer([]);

            /**
             * Creates a new RegisterDevice instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.RegisterDevice
             * @static
             * @param {hushwire.v1.RegisterDevice.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.RegisterDevice} RegisterDevice instance
             * @type {{
             *   (properties: hushwire.v1.RegisterDevice.$Shape): hushwire.v1.RegisterDevice & hushwire.v1.RegisterDevice.$Shape;
             *   (properties?: hushwire.v1.RegisterDevice.$Properties): hushwire.v1.RegisterDevice;
             * }}
             */
            RegisterDevice.create = function(properties) {
                return new RegisterDevice(properties);
            };

            /**
             * Encodes the specified RegisterDevice message. Does not implicitly {@link hushwire.v1.RegisterDevice.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.RegisterDevice
             * @static
             * @param {hushwire.v1.RegisterDevice.$Properties} message RegisterDevice message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            RegisterDevice.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.number != null && $Object.hasOwnProperty.call(message, "number") && message.number !== "")
                    writer.uint32(/* id 1, wireType 2 =*/10).string(message.number);
                if (message.code != null && $Object.hasOwnProperty.call(message, "code") && message.code !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.code);
                if (message.device != null && $Object.hasOwnProperty.call(message, "device") && message.device.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.device);
                if (message.identityKey != null && $Object.hasOwnProperty.call(message, "identityKey") && message.identityKey.length)
                    writer.uint32(/* id 4, wireType 2 =*/34).bytes(message.identityKey);
                if (message.prekey != null && $Object.hasOwnProperty.call(message, "prekey") && message.prekey.length)
                    writer.uint32(/* id 5, wireType 2 =*/42).bytes(message.prekey);
                if (message.prekeySignature != null && $Object.hasOwnProperty.call(message, "prekeySignature") && message.prekeySignature.length)
                    writer.uint32(/* id 6, wireType 2 =*/50).bytes(message.prekeySignature);
                if (message.signature != null && $Object.hasOwnProperty.call(message, "signature") && message.signature.length)
                    writer.uint32(/* id 7, wireType 2 =*/58).bytes(message.signature);
                if (message.blinded != null && $Object.hasOwnProperty.call(message, "blinded") && message.blinded.length)
                    writer.uint32(/* id 8, wireType 2 =*/66).bytes(message.blinded);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a RegisterDevice message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.RegisterDevice
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.RegisterDevice & hushwire.v1.RegisterDevice.$Shape} RegisterDevice
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            RegisterDevice.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.RegisterDevice();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.number = value;
                            else
                                delete message.number;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.code = value;
                            else
                                delete message.code;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.device = value;
                            else
                                delete message.device;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.identityKey = value;
                            else
                                delete message.identityKey;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekey = value;
                            else
                                delete message.prekey;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekeySignature = value;
                            else
                                delete message.prekeySignature;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.signature = value;
                            else
                                delete message.signature;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.blinded = value;
                            else
                                delete message.blinded;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for RegisterDevice
             * @function getTypeUrl
             * @memberof hushwire.v1.RegisterDevice
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            RegisterDevice.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.RegisterDevice";
            };

            return RegisterDevice;
        })();

        v1.Registered = (function() {

            /**
             * Properties of a Registered.
             * @typedef {Object} hushwire.v1.Registered.$Properties
             * @property {Uint8Array|null} [route] Registered route
             * @property {hushwire.v1.Evaluated.$Properties|null} [evaluation] Registered evaluation
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Registered.
             * @memberof hushwire.v1
             * @interface IRegistered
             * @augments hushwire.v1.Registered.$Properties
             * @deprecated Use hushwire.v1.Registered.$Properties instead.
             */

            /**
             * Shape of a Registered.
             * @typedef {hushwire.v1.Registered.$Properties} hushwire.v1.Registered.$Shape
             */

            /**
             * Constructs a new Registered.
             * @memberof hushwire.v1
             * @classdesc Represents a Registered.
             * @constructor
             * @param {hushwire.v1.Registered.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Registered = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Registered route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Registered
             * @instance
             */
            Registered.prototype.route = $util.newBuffer([]);

            /**
             * Registered evaluation.
             * @member {hushwire.v1.Evaluated.$Properties|null|undefined} evaluation
             * @memberof hushwire.v1.Registered
             * @instance
             */
            Registered.prototype.evaluation = null;

            /**
             * Creates a new Registered instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Registered
             * @static
             * @param {hushwire.v1.Registered.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Registered} Registered instance
             * @type {{
             *   (properties: hushwire.v1.Registered.$Shape): hushwire.v1.Registered & hushwire.v1.Registered.$Shape;
             *   (properties?: hushwire.v1.Registered.$Properties): hushwire.v1.Registered;
             * }}
             */
            Registered.create = function(properties) {
                return new Registered(properties);
            };

            /**
             * Encodes the specified Registered message. Does not implicitly {@link hushwire.v1.Registered.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Registered
             * @static
             * @param {hushwire.v1.Registered.$Properties} message Registered message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Registered.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.route);
                if (message.evaluation != null && $Object.hasOwnProperty.call(message, "evaluation"))
                    $root.hushwire.v1.Evaluated.encode(message.evaluation, writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Registered message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Registered
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Registered & hushwire.v1.Registered.$Shape} Registered
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Registered.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Registered();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            message.evaluation = $root.hushwire.v1.Evaluated.decode(reader, reader.size(), $undefined, _depth + 1, message.evaluation);
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Registered
             * @function getTypeUrl
             * @memberof hushwire.v1.Registered
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Registered.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Registered";
            };

            return Registered;
        })();

        v1.Evaluate = (function() {

            /**
             * Properties of an Evaluate.
             * @typedef {Object} hushwire.v1.Evaluate.$Properties
             * @property {Array.<Uint8Array>|null} [blinded] Evaluate blinded
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Evaluate.
             * @memberof hushwire.v1
             * @interface IEvaluate
             * @augments hushwire.v1.Evaluate.$Properties
             * @deprecated Use hushwire.v1.Evaluate.$Properties instead.
             */

            /**
             * Shape of an Evaluate.
             * @typedef {hushwire.v1.Evaluate.$Properties} hushwire.v1.Evaluate.$Shape
             */

            /**
             * Constructs a new Evaluate.
             * @memberof hushwire.v1
             * @classdesc Represents an Evaluate.
             * @constructor
             * @param {hushwire.v1.Evaluate.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Evaluate = function (properties) {
                this.blinded = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Evaluate blinded.
             * @member {Array.<Uint8Array>} blinded
             * @memberof hushwire.v1.Evaluate
             * @instance
             */
            Evaluate.prototype.blinded = $util.emptyArray;

            /**
             * Creates a new Evaluate instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Evaluate
             * @static
             * @param {hushwire.v1.Evaluate.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Evaluate} Evaluate instance
             * @type {{
             *   (properties: hushwire.v1.Evaluate.$Shape): hushwire.v1.Evaluate & hushwire.v1.Evaluate.$Shape;
             *   (properties?: hushwire.v1.Evaluate.$Properties): hushwire.v1.Evaluate;
             * }}
             */
            Evaluate.create = function(properties) {
                return new Evaluate(properties);
            };

            /**
             * Encodes the specified Evaluate message. Does not implicitly {@link hushwire.v1.Evaluate.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Evaluate
             * @static
             * @param {hushwire.v1.Evaluate.$Properties} message Evaluate message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Evaluate.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.blinded != null && message.blinded.length)
                    for (let i = 0; i < message.blinded.length; ++i)
                        writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.blinded[i]);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Evaluate message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Evaluate
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Evaluate & hushwire.v1.Evaluate.$Shape} Evaluate
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Evaluate.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Evaluate();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.blinded && message.blinded.length))
                                message.blinded = [];
                            message.blinded.push(reader.bytes());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Evaluate
             * @function getTypeUrl
             * @memberof hushwire.v1.Evaluate
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Evaluate.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Evaluate";
            };

            return Evaluate;
        })();

        v1.Evaluated = (function() {

            /**
             * Properties of an Evaluated.
             * @typedef {Object} hushwire.v1.Evaluated.$Properties
             * @property {Array.<Uint8Array>|null} [evaluated] Evaluated evaluated
             * @property {Uint8Array|null} [proof] Evaluated proof
             * @property {Array.<hushwire.v1.EvaluatedShare.$Properties>|null} [shares] Evaluated shares
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Evaluated.
             * @memberof hushwire.v1
             * @interface IEvaluated
             * @augments hushwire.v1.Evaluated.$Properties
             * @deprecated Use hushwire.v1.Evaluated.$Properties instead.
             */

            /**
             * Shape of an Evaluated.
             * @typedef {hushwire.v1.Evaluated.$Properties} hushwire.v1.Evaluated.$Shape
             */

            /**
             * Constructs a new Evaluated.
             * @memberof hushwire.v1
             * @classdesc Represents an Evaluated.
             * @constructor
             * @param {hushwire.v1.Evaluated.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Evaluated = function (properties) {
                this.evaluated = [];
                this.shares = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Evaluated evaluated.
             * @member {Array.<Uint8Array>} evaluated
             * @memberof hushwire.v1.Evaluated
             * @instance
             */
            Evaluated.prototype.evaluated = $util.emptyArray;

            /**
             * Evaluated proof.
             * @member {Uint8Array} proof
             * @memberof hushwire.v1.Evaluated
             * @instance
             */
            Evaluated.prototype.proof = $util.newBuffer([]);

            /**
             * Evaluated shares.
             * @member {Array.<hushwire.v1.EvaluatedShare.$Properties>} shares
             * @memberof hushwire.v1.Evaluated
             * @instance
             */
            Evaluated.prototype.shares = $util.emptyArray;

            /**
             * Creates a new Evaluated instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Evaluated
             * @static
             * @param {hushwire.v1.Evaluated.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Evaluated} Evaluated instance
             * @type {{
             *   (properties: hushwire.v1.Evaluated.$Shape): hushwire.v1.Evaluated & hushwire.v1.Evaluated.$Shape;
             *   (properties?: hushwire.v1.Evaluated.$Properties): hushwire.v1.Evaluated;
             * }}
             */
            Evaluated.create = function(properties) {
                return new Evaluated(properties);
            };

            /**
             * Encodes the specified Evaluated message. Does not implicitly {@link hushwire.v1.Evaluated.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Evaluated
             * @static
             * @param {hushwire.v1.Evaluated.$Properties} message Evaluated message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Evaluated.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.evaluated != null && message.evaluated.length)
                    for (let i = 0; i < message.evaluated.length; ++i)
                        writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.evaluated[i]);
                if (message.proof != null && $Object.hasOwnProperty.call(message, "proof") && message.proof.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.proof);
                if (message.shares != null && message.shares.length)
                    for (let i = 0; i < message.shares.length; ++i)
                        $root.hushwire.v1.EvaluatedShare.encode(message.shares[i], writer.uint32(/* id 3, wireType 2 =*/26).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Evaluated message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Evaluated
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Evaluated & hushwire.v1.Evaluated.$Shape} Evaluated
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Evaluated.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Evaluated();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.evaluated && message.evaluated.length))
                                message.evaluated = [];
                            message.evaluated.push(reader.bytes());
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.proof = value;
                            else
                                delete message.proof;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if (!(message.shares && message.shares.length))
                                message.shares = [];
                            message.shares.push($root.hushwire.v1.EvaluatedShare.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Evaluated
             * @function getTypeUrl
             * @memberof hushwire.v1.Evaluated
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Evaluated.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Evaluated";
            };

            return Evaluated;
        })();

        v1.EvaluatedShare = (function() {

            /**
             * Properties of an EvaluatedShare.
             * @typedef {Object} hushwire.v1.EvaluatedShare.$Properties
             * @property {Uint8Array|null} [publicKey] EvaluatedShare publicKey
             * @property {Array.<Uint8Array>|null} [evaluated] EvaluatedShare evaluated
             * @property {Uint8Array|null} [proof] EvaluatedShare proof
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an EvaluatedShare.
             * @memberof hushwire.v1
             * @interface IEvaluatedShare
             * @augments hushwire.v1.EvaluatedShare.$Properties
             * @deprecated Use hushwire.v1.EvaluatedShare.$Properties instead.
             */

            /**
             * Shape of an EvaluatedShare.
             * @typedef {hushwire.v1.EvaluatedShare.$Properties} hushwire.v1.EvaluatedShare.$Shape
             */

            /**
             * Constructs a new EvaluatedShare.
             * @memberof hushwire.v1
             * @classdesc Represents an EvaluatedShare.
             * @constructor
             * @param {hushwire.v1.EvaluatedShare.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const EvaluatedShare = function (properties) {
                this.evaluated = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * EvaluatedShare publicKey.
             * @member {Uint8Array} publicKey
             * @memberof hushwire.v1.EvaluatedShare
             * @instance
             */
            EvaluatedShare.prototype.publicKey = $util.newBuffer([]);

            /**
             * EvaluatedShare evaluated.
             * @member {Array.<Uint8Array>} evaluated
             * @memberof hushwire.v1.EvaluatedShare
             * @instance
             */
            EvaluatedShare.prototype.evaluated = $util.emptyArray;

            /**
             * EvaluatedShare proof.
             * @member {Uint8Array} proof
             * @memberof hushwire.v1.EvaluatedShare
             * @instance
             */
            EvaluatedShare.prototype.proof = $util.newBuffer([]);

            /**
             * Creates a new EvaluatedShare instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.EvaluatedShare
             * @static
             * @param {hushwire.v1.EvaluatedShare.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.EvaluatedShare} EvaluatedShare instance
             * @type {{
             *   (properties: hushwire.v1.EvaluatedShare.$Shape): hushwire.v1.EvaluatedShare & hushwire.v1.EvaluatedShare.$Shape;
             *   (properties?: hushwire.v1.EvaluatedShare.$Properties): hushwire.v1.EvaluatedShare;
             * }}
             */
            EvaluatedShare.create = function(properties) {
                return new EvaluatedShare(properties);
            };

            /**
             * Encodes the specified EvaluatedShare message. Does not implicitly {@link hushwire.v1.EvaluatedShare.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.EvaluatedShare
             * @static
             * @param {hushwire.v1.EvaluatedShare.$Properties} message EvaluatedShare message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            EvaluatedShare.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.publicKey != null && $Object.hasOwnProperty.call(message, "publicKey") && message.publicKey.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.publicKey);
                if (message.evaluated != null && message.evaluated.length)
                    for (let i = 0; i < message.evaluated.length; ++i)
                        writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.evaluated[i]);
                if (message.proof != null && $Object.hasOwnProperty.call(message, "proof") && message.proof.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.proof);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an EvaluatedShare message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.EvaluatedShare
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.EvaluatedShare & hushwire.v1.EvaluatedShare.$Shape} EvaluatedShare
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            EvaluatedShare.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.EvaluatedShare();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.publicKey = value;
                            else
                                delete message.publicKey;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.evaluated && message.evaluated.length))
                                message.evaluated = [];
                            message.evaluated.push(reader.bytes());
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.proof = value;
                            else
                                delete message.proof;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for EvaluatedShare
             * @function getTypeUrl
             * @memberof hushwire.v1.EvaluatedShare
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            EvaluatedShare.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.EvaluatedShare";
            };

            return EvaluatedShare;
        })();

        v1.Lookup = (function() {

            /**
             * Properties of a Lookup.
             * @typedef {Object} hushwire.v1.Lookup.$Properties
             * @property {Uint8Array|null} [route] Lookup route
             * @property {Array.<Uint8Array>|null} [routes] Lookup routes
             * @property {boolean|null} [fresh] Lookup fresh
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Lookup.
             * @memberof hushwire.v1
             * @interface ILookup
             * @augments hushwire.v1.Lookup.$Properties
             * @deprecated Use hushwire.v1.Lookup.$Properties instead.
             */

            /**
             * Shape of a Lookup.
             * @typedef {hushwire.v1.Lookup.$Properties} hushwire.v1.Lookup.$Shape
             */

            /**
             * Constructs a new Lookup.
             * @memberof hushwire.v1
             * @classdesc Represents a Lookup.
             * @constructor
             * @param {hushwire.v1.Lookup.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Lookup = function (properties) {
                this.routes = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Lookup route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Lookup
             * @instance
             */
            Lookup.prototype.route = $util.newBuffer([]);

            /**
             * Lookup routes.
             * @member {Array.<Uint8Array>} routes
             * @memberof hushwire.v1.Lookup
             * @instance
             */
            Lookup.prototype.routes = $util.emptyArray;

            /**
             * Lookup fresh.
             * @member {boolean} fresh
             * @memberof hushwire.v1.Lookup
             * @instance
             */
            Lookup.prototype.fresh = false;

            /**
             * Creates a new Lookup instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Lookup
             * @static
             * @param {hushwire.v1.Lookup.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Lookup} Lookup instance
             * @type {{
             *   (properties: hushwire.v1.Lookup.$Shape): hushwire.v1.Lookup & hushwire.v1.Lookup.$Shape;
             *   (properties?: hushwire.v1.Lookup.$Properties): hushwire.v1.Lookup;
             * }}
             */
            Lookup.create = function(properties) {
                return new Lookup(properties);
            };

            /**
             * Encodes the specified Lookup message. Does not implicitly {@link hushwire.v1.Lookup.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Lookup
             * @static
             * @param {hushwire.v1.Lookup.$Properties} message Lookup message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Lookup.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.route);
                if (message.routes != null && message.routes.length)
                    for (let i = 0; i < message.routes.length; ++i)
                        writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.routes[i]);
                if (message.fresh != null && $Object.hasOwnProperty.call(message, "fresh") && message.fresh !== false)
                    writer.uint32(/* id 3, wireType 0 =*/24).bool(message.fresh);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Lookup message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Lookup
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Lookup & hushwire.v1.Lookup.$Shape} Lookup
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Lookup.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Lookup();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.routes && message.routes.length))
                                message.routes = [];
                            message.routes.push(reader.bytes());
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.bool())
                                message.fresh = value;
                            else
                                delete message.fresh;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Lookup
             * @function getTypeUrl
             * @memberof hushwire.v1.Lookup
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Lookup.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Lookup";
            };

            return Lookup;
        })();

        v1.DeviceKeys = (function() {

            /**
             * Properties of a DeviceKeys.
             * @typedef {Object} hushwire.v1.DeviceKeys.$Properties
             * @property {Uint8Array|null} [device] DeviceKeys device
             * @property {Uint8Array|null} [identityKey] DeviceKeys identityKey
             * @property {Uint8Array|null} [prekey] DeviceKeys prekey
             * @property {Uint8Array|null} [prekeySignature] DeviceKeys prekeySignature
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DeviceKeys.
             * @memberof hushwire.v1
             * @interface IDeviceKeys
             * @augments hushwire.v1.DeviceKeys.$Properties
             * @deprecated Use hushwire.v1.DeviceKeys.$Properties instead.
             */

            /**
             * Shape of a DeviceKeys.
             * @typedef {hushwire.v1.DeviceKeys.$Properties} hushwire.v1.DeviceKeys.$Shape
             */

            /**
             * Constructs a new DeviceKeys.
             * @memberof hushwire.v1
             * @classdesc Represents a DeviceKeys.
             * @constructor
             * @param {hushwire.v1.DeviceKeys.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DeviceKeys = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * DeviceKeys device.
             * @member {Uint8Array} device
             * @memberof hushwire.v1.DeviceKeys
             * @instance
             */
            DeviceKeys.prototype.device = $util.newBuffer([]);

            /**
             * DeviceKeys identityKey.
             * @member {Uint8Array} identityKey
             * @memberof hushwire.v1.DeviceKeys
             * @instance
             */
            DeviceKeys.prototype.identityKey = $util.newBuffer([]);

            /**
             * DeviceKeys prekey.
             * @member {Uint8Array} prekey
             * @memberof hushwire.v1.DeviceKeys
             * @instance
             */
            DeviceKeys.prototype.prekey = $util.newBuffer([]);

            /**
             * DeviceKeys prekeySignature.
             * @member {Uint8Array} prekeySignature
             * @memberof hushwire.v1.DeviceKeys
             * @instance
             */
            DeviceKeys.prototype.prekeySignature = $util.newBuffer([]);

            /**
             * Creates a new DeviceKeys instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.DeviceKeys
             * @static
             * @param {hushwire.v1.DeviceKeys.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.DeviceKeys} DeviceKeys instance
             * @type {{
             *   (properties: hushwire.v1.DeviceKeys.$Shape): hushwire.v1.DeviceKeys & hushwire.v1.DeviceKeys.$Shape;
             *   (properties?: hushwire.v1.DeviceKeys.$Properties): hushwire.v1.DeviceKeys;
             * }}
             */
            DeviceKeys.create = function(properties) {
                return new DeviceKeys(properties);
            };

            /**
             * Encodes the specified DeviceKeys message. Does not implicitly {@link hushwire.v1.DeviceKeys.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.DeviceKeys
             * @static
             * @param {hushwire.v1.DeviceKeys.$Properties} message DeviceKeys message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DeviceKeys.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.device != null && $Object.hasOwnProperty.call(message, "device") && message.device.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.device);
                if (message.identityKey != null && $Object.hasOwnProperty.call(message, "identityKey") && message.identityKey.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.identityKey);
                if (message.prekey != null && $Object.hasOwnProperty.call(message, "prekey") && message.prekey.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.prekey);
                if (message.prekeySignature != null && $Object.hasOwnProperty.call(message, "prekeySignature") && message.prekeySignature.length)
                    writer.uint32(/* id 4, wireType 2 =*/34).bytes(message.prekeySignature);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a DeviceKeys message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.DeviceKeys
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.DeviceKeys & hushwire.v1.DeviceKeys.$Shape} DeviceKeys
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DeviceKeys.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.DeviceKeys();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.device = value;
                            else
                                delete message.device;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.identityKey = value;
                            else
                                delete message.identityKey;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekey = value;
                            else
                                delete message.prekey;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekeySignature = value;
                            else
                                delete message.prekeySignature;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for DeviceKeys
             * @function getTypeUrl
             * @memberof hushwire.v1.DeviceKeys
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DeviceKeys.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.DeviceKeys";
            };

            return DeviceKeys;
        })();

        v1.Devices = (function() {

            /**
             * Properties of a Devices.
             * @typedef {Object} hushwire.v1.Devices.$Properties
             * @property {Uint8Array|null} [route] Devices route
             * @property {Array.<hushwire.v1.DeviceKeys.$Properties>|null} [devices] Devices devices
             * @property {Uint8Array|null} [padding] Devices padding
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Devices.
             * @memberof hushwire.v1
             * @interface IDevices
             * @augments hushwire.v1.Devices.$Properties
             * @deprecated Use hushwire.v1.Devices.$Properties instead.
             */

            /**
             * Shape of a Devices.
             * @typedef {hushwire.v1.Devices.$Properties} hushwire.v1.Devices.$Shape
             */

            /**
             * Constructs a new Devices.
             * @memberof hushwire.v1
             * @classdesc Represents a Devices.
             * @constructor
             * @param {hushwire.v1.Devices.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Devices = function (properties) {
                this.devices = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Devices route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Devices
             * @instance
             */
            Devices.prototype.route = $util.newBuffer([]);

            /**
             * Devices devices.
             * @member {Array.<hushwire.v1.DeviceKeys.$Properties>} devices
             * @memberof hushwire.v1.Devices
             * @instance
             */
            Devices.prototype.devices = $util.emptyArray;

            /**
             * Devices padding.
             * @member {Uint8Array} padding
             * @memberof hushwire.v1.Devices
             * @instance
             */
            Devices.prototype.padding = $util.newBuffer([]);

            /**
             * Creates a new Devices instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Devices
             * @static
             * @param {hushwire.v1.Devices.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Devices} Devices instance
             * @type {{
             *   (properties: hushwire.v1.Devices.$Shape): hushwire.v1.Devices & hushwire.v1.Devices.$Shape;
             *   (properties?: hushwire.v1.Devices.$Properties): hushwire.v1.Devices;
             * }}
             */
            Devices.create = function(properties) {
                return new Devices(properties);
            };

            /**
             * Encodes the specified Devices message. Does not implicitly {@link hushwire.v1.Devices.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Devices
             * @static
             * @param {hushwire.v1.Devices.$Properties} message Devices message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Devices.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.route);
                if (message.devices != null && message.devices.length)
                    for (let i = 0; i < message.devices.length; ++i)
                        $root.hushwire.v1.DeviceKeys.encode(message.devices[i], writer.uint32(/* id 2, wireType 2 =*/18).fork(), _depth + 1).ldelim();
                if (message.padding != null && $Object.hasOwnProperty.call(message, "padding") && message.padding.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.padding);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Devices message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Devices
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Devices & hushwire.v1.Devices.$Shape} Devices
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Devices.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Devices();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.devices && message.devices.length))
                                message.devices = [];
                            message.devices.push($root.hushwire.v1.DeviceKeys.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.padding = value;
                            else
                                delete message.padding;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Devices
             * @function getTypeUrl
             * @memberof hushwire.v1.Devices
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Devices.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Devices";
            };

            return Devices;
        })();

        v1.DevicesBatch = (function() {

            /**
             * Properties of a DevicesBatch.
             * @typedef {Object} hushwire.v1.DevicesBatch.$Properties
             * @property {Array.<hushwire.v1.Devices.$Properties>|null} [results] DevicesBatch results
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DevicesBatch.
             * @memberof hushwire.v1
             * @interface IDevicesBatch
             * @augments hushwire.v1.DevicesBatch.$Properties
             * @deprecated Use hushwire.v1.DevicesBatch.$Properties instead.
             */

            /**
             * Shape of a DevicesBatch.
             * @typedef {hushwire.v1.DevicesBatch.$Properties} hushwire.v1.DevicesBatch.$Shape
             */

            /**
             * Constructs a new DevicesBatch.
             * @memberof hushwire.v1
             * @classdesc Represents a DevicesBatch.
             * @constructor
             * @param {hushwire.v1.DevicesBatch.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DevicesBatch = function (properties) {
                this.results = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * DevicesBatch results.
             * @member {Array.<hushwire.v1.Devices.$Properties>} results
             * @memberof hushwire.v1.DevicesBatch
             * @instance
             */
            DevicesBatch.prototype.results = $util.emptyArray;

            /**
             * Creates a new DevicesBatch instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.DevicesBatch
             * @static
             * @param {hushwire.v1.DevicesBatch.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.DevicesBatch} DevicesBatch instance
             * @type {{
             *   (properties: hushwire.v1.DevicesBatch.$Shape): hushwire.v1.DevicesBatch & hushwire.v1.DevicesBatch.$Shape;
             *   (properties?: hushwire.v1.DevicesBatch.$Properties): hushwire.v1.DevicesBatch;
             * }}
             */
            DevicesBatch.create = function(properties) {
                return new DevicesBatch(properties);
            };

            /**
             * Encodes the specified DevicesBatch message. Does not implicitly {@link hushwire.v1.DevicesBatch.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.DevicesBatch
             * @static
             * @param {hushwire.v1.DevicesBatch.$Properties} message DevicesBatch message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DevicesBatch.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.results != null && message.results.length)
                    for (let i = 0; i < message.results.length; ++i)
                        $root.hushwire.v1.Devices.encode(message.results[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a DevicesBatch message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.DevicesBatch
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.DevicesBatch & hushwire.v1.DevicesBatch.$Shape} DevicesBatch
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DevicesBatch.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.DevicesBatch();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.results && message.results.length))
                                message.results = [];
                            message.results.push($root.hushwire.v1.Devices.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for DevicesBatch
             * @function getTypeUrl
             * @memberof hushwire.v1.DevicesBatch
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DevicesBatch.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.DevicesBatch";
            };

            return DevicesBatch;
        })();

        v1.Notice = (function() {

            /**
             * Properties of a Notice.
             * @typedef {Object} hushwire.v1.Notice.$Properties
             * @property {string|null} [kind] Notice kind
             * @property {number|null} [atMs] Notice atMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Notice.
             * @memberof hushwire.v1
             * @interface INotice
             * @augments hushwire.v1.Notice.$Properties
             * @deprecated Use hushwire.v1.Notice.$Properties instead.
             */

            /**
             * Shape of a Notice.
             * @typedef {hushwire.v1.Notice.$Properties} hushwire.v1.Notice.$Shape
             */

            /**
             * Constructs a new Notice.
             * @memberof hushwire.v1
             * @classdesc Represents a Notice.
             * @constructor
             * @param {hushwire.v1.Notice.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Notice = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Notice kind.
             * @member {string} kind
             * @memberof hushwire.v1.Notice
             * @instance
             */
            Notice.prototype.kind = "";

            /**
             * Notice atMs.
             * @member {number} atMs
             * @memberof hushwire.v1.Notice
             * @instance
             */
            Notice.prototype.atMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Creates a new Notice instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Notice
             * @static
             * @param {hushwire.v1.Notice.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Notice} Notice instance
             * @type {{
             *   (properties: hushwire.v1.Notice.$Shape): hushwire.v1.Notice & hushwire.v1.Notice.$Shape;
             *   (properties?: hushwire.v1.Notice.$Properties): hushwire.v1.Notice;
             * }}
             */
            Notice.create = function(properties) {
                return new Notice(properties);
            };

            /**
             * Encodes the specified Notice message. Does not implicitly {@link hushwire.v1.Notice.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Notice
             * @static
             * @param {hushwire.v1.Notice.$Properties} message Notice message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Notice.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.kind != null && $Object.hasOwnProperty.call(message, "kind") && message.kind !== "")
                    writer.uint32(/* id 1, wireType 2 =*/10).string(message.kind);
                if (message.atMs != null && $Object.hasOwnProperty.call(message, "atMs") && (typeof message.atMs === "object" ? message.atMs.low || message.atMs.high : message.atMs !== 0))
                    writer.uint32(/* id 2, wireType 0 =*/16).uint64(message.atMs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Notice message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Notice
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Notice & hushwire.v1.Notice.$Shape} Notice
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Notice.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Notice();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.kind = value;
                            else
                                delete message.kind;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.atMs = value;
                            else
                                delete message.atMs;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Notice
             * @function getTypeUrl
             * @memberof hushwire.v1.Notice
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Notice.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Notice";
            };

            return Notice;
        })();

        v1.Envelope = (function() {

            /**
             * Properties of an Envelope.
             * @typedef {Object} hushwire.v1.Envelope.$Properties
             * @property {number|null} [version] Envelope version
             * @property {Uint8Array|null} [route] Envelope route
             * @property {Uint8Array|null} [device] Envelope device
             * @property {Uint8Array|null} [id] Envelope id
             * @property {number|null} [suite] Envelope suite
             * @property {Uint8Array|null} [enc] Envelope enc
             * @property {Uint8Array|null} [ciphertext] Envelope ciphertext
             * @property {number|null} [serverTs] Envelope serverTs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Envelope.
             * @memberof hushwire.v1
             * @interface IEnvelope
             * @augments hushwire.v1.Envelope.$Properties
             * @deprecated Use hushwire.v1.Envelope.$Properties instead.
             */

            /**
             * Shape of an Envelope.
             * @typedef {hushwire.v1.Envelope.$Properties} hushwire.v1.Envelope.$Shape
             */

            /**
             * Constructs a new Envelope.
             * @memberof hushwire.v1
             * @classdesc Represents an Envelope.
             * @constructor
             * @param {hushwire.v1.Envelope.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Envelope = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Envelope version.
             * @member {number} version
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.version = 0;

            /**
             * Envelope route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.route = $util.newBuffer([]);

            /**
             * Envelope device.
             * @member {Uint8Array} device
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.device = $util.newBuffer([]);

            /**
             * Envelope id.
             * @member {Uint8Array} id
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.id = $util.newBuffer([]);

            /**
             * Envelope suite.
             * @member {number} suite
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.suite = 0;

            /**
             * Envelope enc.
             * @member {Uint8Array} enc
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.enc = $util.newBuffer([]);

            /**
             * Envelope ciphertext.
             * @member {Uint8Array} ciphertext
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.ciphertext = $util.newBuffer([]);

            /**
             * Envelope serverTs.
             * @member {number} serverTs
             * @memberof hushwire.v1.Envelope
             * @instance
             */
            Envelope.prototype.serverTs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Creates a new Envelope instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Envelope
             * @static
             * @param {hushwire.v1.Envelope.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Envelope} Envelope instance
             * @type {{
             *   (properties: hushwire.v1.Envelope.$Shape): hushwire.v1.Envelope & hushwire.v1.Envelope.$Shape;
             *   (properties?: hushwire.v1.Envelope.$Properties): hushwire.v1.Envelope;
             * }}
             */
            Envelope.create = function(properties) {
                return new Envelope(properties);
            };

            /**
             * Encodes the specified Envelope message. Does not implicitly {@link hushwire.v1.Envelope.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Envelope
             * @static
             * @param {hushwire.v1.Envelope.$Properties} message Envelope message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Envelope.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.version != null && $Object.hasOwnProperty.call(message, "version") && message.version !== 0)
                    writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.version);
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.route);
                if (message.device != null && $Object.hasOwnProperty.call(message, "device") && message.device.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.device);
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id.length)
                    writer.uint32(/* id 4, wireType 2 =*/34).bytes(message.id);
                if (message.suite != null && $Object.hasOwnProperty.call(message, "suite") && message.suite !== 0)
                    writer.uint32(/* id 5, wireType 0 =*/40).uint32(message.suite);
                if (message.enc != null && $Object.hasOwnProperty.call(message, "enc") && message.enc.length)
                    writer.uint32(/* id 6, wireType 2 =*/50).bytes(message.enc);
                if (message.ciphertext != null && $Object.hasOwnProperty.call(message, "ciphertext") && message.ciphertext.length)
                    writer.uint32(/* id 7, wireType 2 =*/58).bytes(message.ciphertext);
                if (message.serverTs != null && $Object.hasOwnProperty.call(message, "serverTs") && (typeof message.serverTs === "object" ? message.serverTs.low || message.serverTs.high : message.serverTs !== 0))
                    writer.uint32(/* id 8, wireType 0 =*/64).uint64(message.serverTs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Envelope message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Envelope
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Envelope & hushwire.v1.Envelope.$Shape} Envelope
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Envelope.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Envelope();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.version = value;
                            else
                                delete message.version;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.device = value;
                            else
                                delete message.device;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.suite = value;
                            else
                                delete message.suite;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.enc = value;
                            else
                                delete message.enc;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.ciphertext = value;
                            else
                                delete message.ciphertext;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.serverTs = value;
                            else
                                delete message.serverTs;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Envelope
             * @function getTypeUrl
             * @memberof hushwire.v1.Envelope
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Envelope.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Envelope";
            };

            return Envelope;
        })();

        v1.Send = (function() {

            /**
             * Properties of a Send.
             * @typedef {Object} hushwire.v1.Send.$Properties
             * @property {Array.<hushwire.v1.Envelope.$Properties>|null} [envelopes] Send envelopes
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Send.
             * @memberof hushwire.v1
             * @interface ISend
             * @augments hushwire.v1.Send.$Properties
             * @deprecated Use hushwire.v1.Send.$Properties instead.
             */

            /**
             * Shape of a Send.
             * @typedef {hushwire.v1.Send.$Properties} hushwire.v1.Send.$Shape
             */

            /**
             * Constructs a new Send.
             * @memberof hushwire.v1
             * @classdesc Represents a Send.
             * @constructor
             * @param {hushwire.v1.Send.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Send = function (properties) {
                this.envelopes = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Send envelopes.
             * @member {Array.<hushwire.v1.Envelope.$Properties>} envelopes
             * @memberof hushwire.v1.Send
             * @instance
             */
            Send.prototype.envelopes = $util.emptyArray;

            /**
             * Creates a new Send instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Send
             * @static
             * @param {hushwire.v1.Send.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Send} Send instance
             * @type {{
             *   (properties: hushwire.v1.Send.$Shape): hushwire.v1.Send & hushwire.v1.Send.$Shape;
             *   (properties?: hushwire.v1.Send.$Properties): hushwire.v1.Send;
             * }}
             */
            Send.create = function(properties) {
                return new Send(properties);
            };

            /**
             * Encodes the specified Send message. Does not implicitly {@link hushwire.v1.Send.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Send
             * @static
             * @param {hushwire.v1.Send.$Properties} message Send message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Send.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.envelopes != null && message.envelopes.length)
                    for (let i = 0; i < message.envelopes.length; ++i)
                        $root.hushwire.v1.Envelope.encode(message.envelopes[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Send message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Send
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Send & hushwire.v1.Send.$Shape} Send
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Send.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Send();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.envelopes && message.envelopes.length))
                                message.envelopes = [];
                            message.envelopes.push($root.hushwire.v1.Envelope.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Send
             * @function getTypeUrl
             * @memberof hushwire.v1.Send
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Send.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Send";
            };

            return Send;
        })();

        v1.Receipt = (function() {

            /**
             * Properties of a Receipt.
             * @typedef {Object} hushwire.v1.Receipt.$Properties
             * @property {Uint8Array|null} [id] Receipt id
             * @property {string|null} [status] Receipt status
             * @property {string|null} [code] Receipt code
             * @property {number|null} [retryAfterMs] Receipt retryAfterMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Receipt.
             * @memberof hushwire.v1
             * @interface IReceipt
             * @augments hushwire.v1.Receipt.$Properties
             * @deprecated Use hushwire.v1.Receipt.$Properties instead.
             */

            /**
             * Shape of a Receipt.
             * @typedef {hushwire.v1.Receipt.$Properties} hushwire.v1.Receipt.$Shape
             */

            /**
             * Constructs a new Receipt.
             * @memberof hushwire.v1
             * @classdesc Represents a Receipt.
             * @constructor
             * @param {hushwire.v1.Receipt.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Receipt = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Receipt id.
             * @member {Uint8Array} id
             * @memberof hushwire.v1.Receipt
             * @instance
             */
            Receipt.prototype.id = $util.newBuffer([]);

            /**
             * Receipt status.
             * @member {string} status
             * @memberof hushwire.v1.Receipt
             * @instance
             */
            Receipt.prototype.status = "";

            /**
             * Receipt code.
             * @member {string} code
             * @memberof hushwire.v1.Receipt
             * @instance
             */
            Receipt.prototype.code = "";

            /**
             * Receipt retryAfterMs.
             * @member {number} retryAfterMs
             * @memberof hushwire.v1.Receipt
             * @instance
             */
            Receipt.prototype.retryAfterMs = 0;

            /**
             * Creates a new Receipt instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Receipt
             * @static
             * @param {hushwire.v1.Receipt.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Receipt} Receipt instance
             * @type {{
             *   (properties: hushwire.v1.Receipt.$Shape): hushwire.v1.Receipt & hushwire.v1.Receipt.$Shape;
             *   (properties?: hushwire.v1.Receipt.$Properties): hushwire.v1.Receipt;
             * }}
             */
            Receipt.create = function(properties) {
                return new Receipt(properties);
            };

            /**
             * Encodes the specified Receipt message. Does not implicitly {@link hushwire.v1.Receipt.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Receipt
             * @static
             * @param {hushwire.v1.Receipt.$Properties} message Receipt message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Receipt.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.id != null && $Object.hasOwnProperty.call(message, "id") && message.id.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.id);
                if (message.status != null && $Object.hasOwnProperty.call(message, "status") && message.status !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.status);
                if (message.code != null && $Object.hasOwnProperty.call(message, "code") && message.code !== "")
                    writer.uint32(/* id 3, wireType 2 =*/26).string(message.code);
                if (message.retryAfterMs != null && $Object.hasOwnProperty.call(message, "retryAfterMs") && message.retryAfterMs !== 0)
                    writer.uint32(/* id 4, wireType 0 =*/32).uint32(message.retryAfterMs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Receipt message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Receipt
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Receipt & hushwire.v1.Receipt.$Shape} Receipt
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Receipt.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Receipt();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.id = value;
                            else
                                delete message.id;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.status = value;
                            else
                                delete message.status;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.code = value;
                            else
                                delete message.code;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.retryAfterMs = value;
                            else
                                delete message.retryAfterMs;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Receipt
             * @function getTypeUrl
             * @memberof hushwire.v1.Receipt
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Receipt.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Receipt";
            };

            return Receipt;
        })();

        v1.SendResult = (function() {

            /**
             * Properties of a SendResult.
             * @typedef {Object} hushwire.v1.SendResult.$Properties
             * @property {Array.<hushwire.v1.Receipt.$Properties>|null} [receipts] SendResult receipts
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a SendResult.
             * @memberof hushwire.v1
             * @interface ISendResult
             * @augments hushwire.v1.SendResult.$Properties
             * @deprecated Use hushwire.v1.SendResult.$Properties instead.
             */

            /**
             * Shape of a SendResult.
             * @typedef {hushwire.v1.SendResult.$Properties} hushwire.v1.SendResult.$Shape
             */

            /**
             * Constructs a new SendResult.
             * @memberof hushwire.v1
             * @classdesc Represents a SendResult.
             * @constructor
             * @param {hushwire.v1.SendResult.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const SendResult = function (properties) {
                this.receipts = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * SendResult receipts.
             * @member {Array.<hushwire.v1.Receipt.$Properties>} receipts
             * @memberof hushwire.v1.SendResult
             * @instance
             */
            SendResult.prototype.receipts = $util.emptyArray;

            /**
             * Creates a new SendResult instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.SendResult
             * @static
             * @param {hushwire.v1.SendResult.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.SendResult} SendResult instance
             * @type {{
             *   (properties: hushwire.v1.SendResult.$Shape): hushwire.v1.SendResult & hushwire.v1.SendResult.$Shape;
             *   (properties?: hushwire.v1.SendResult.$Properties): hushwire.v1.SendResult;
             * }}
             */
            SendResult.create = function(properties) {
                return new SendResult(properties);
            };

            /**
             * Encodes the specified SendResult message. Does not implicitly {@link hushwire.v1.SendResult.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.SendResult
             * @static
             * @param {hushwire.v1.SendResult.$Properties} message SendResult message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            SendResult.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.receipts != null && message.receipts.length)
                    for (let i = 0; i < message.receipts.length; ++i)
                        $root.hushwire.v1.Receipt.encode(message.receipts[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a SendResult message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.SendResult
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.SendResult & hushwire.v1.SendResult.$Shape} SendResult
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            SendResult.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.SendResult();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.receipts && message.receipts.length))
                                message.receipts = [];
                            message.receipts.push($root.hushwire.v1.Receipt.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for SendResult
             * @function getTypeUrl
             * @memberof hushwire.v1.SendResult
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            SendResult.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.SendResult";
            };

            return SendResult;
        })();

        v1.Deliver = (function() {

            /**
             * Properties of a Deliver.
             * @typedef {Object} hushwire.v1.Deliver.$Properties
             * @property {Array.<hushwire.v1.Envelope.$Properties>|null} [envelopes] Deliver envelopes
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Deliver.
             * @memberof hushwire.v1
             * @interface IDeliver
             * @augments hushwire.v1.Deliver.$Properties
             * @deprecated Use hushwire.v1.Deliver.$Properties instead.
             */

            /**
             * Shape of a Deliver.
             * @typedef {hushwire.v1.Deliver.$Properties} hushwire.v1.Deliver.$Shape
             */

            /**
             * Constructs a new Deliver.
             * @memberof hushwire.v1
             * @classdesc Represents a Deliver.
             * @constructor
             * @param {hushwire.v1.Deliver.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Deliver = function (properties) {
                this.envelopes = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Deliver envelopes.
             * @member {Array.<hushwire.v1.Envelope.$Properties>} envelopes
             * @memberof hushwire.v1.Deliver
             * @instance
             */
            Deliver.prototype.envelopes = $util.emptyArray;

            /**
             * Creates a new Deliver instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Deliver
             * @static
             * @param {hushwire.v1.Deliver.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Deliver} Deliver instance
             * @type {{
             *   (properties: hushwire.v1.Deliver.$Shape): hushwire.v1.Deliver & hushwire.v1.Deliver.$Shape;
             *   (properties?: hushwire.v1.Deliver.$Properties): hushwire.v1.Deliver;
             * }}
             */
            Deliver.create = function(properties) {
                return new Deliver(properties);
            };

            /**
             * Encodes the specified Deliver message. Does not implicitly {@link hushwire.v1.Deliver.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Deliver
             * @static
             * @param {hushwire.v1.Deliver.$Properties} message Deliver message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Deliver.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.envelopes != null && message.envelopes.length)
                    for (let i = 0; i < message.envelopes.length; ++i)
                        $root.hushwire.v1.Envelope.encode(message.envelopes[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Deliver message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Deliver
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Deliver & hushwire.v1.Deliver.$Shape} Deliver
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Deliver.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Deliver();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.envelopes && message.envelopes.length))
                                message.envelopes = [];
                            message.envelopes.push($root.hushwire.v1.Envelope.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Deliver
             * @function getTypeUrl
             * @memberof hushwire.v1.Deliver
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Deliver.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Deliver";
            };

            return Deliver;
        })();

        v1.DeliverAck = (function() {

            /**
             * Properties of a DeliverAck.
             * @typedef {Object} hushwire.v1.DeliverAck.$Properties
             * @property {Array.<Uint8Array>|null} [ids] DeliverAck ids
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DeliverAck.
             * @memberof hushwire.v1
             * @interface IDeliverAck
             * @augments hushwire.v1.DeliverAck.$Properties
             * @deprecated Use hushwire.v1.DeliverAck.$Properties instead.
             */

            /**
             * Shape of a DeliverAck.
             * @typedef {hushwire.v1.DeliverAck.$Properties} hushwire.v1.DeliverAck.$Shape
             */

            /**
             * Constructs a new DeliverAck.
             * @memberof hushwire.v1
             * @classdesc Represents a DeliverAck.
             * @constructor
             * @param {hushwire.v1.DeliverAck.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DeliverAck = function (properties) {
                this.ids = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * DeliverAck ids.
             * @member {Array.<Uint8Array>} ids
             * @memberof hushwire.v1.DeliverAck
             * @instance
             */
            DeliverAck.prototype.ids = $util.emptyArray;

            /**
             * Creates a new DeliverAck instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.DeliverAck
             * @static
             * @param {hushwire.v1.DeliverAck.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.DeliverAck} DeliverAck instance
             * @type {{
             *   (properties: hushwire.v1.DeliverAck.$Shape): hushwire.v1.DeliverAck & hushwire.v1.DeliverAck.$Shape;
             *   (properties?: hushwire.v1.DeliverAck.$Properties): hushwire.v1.DeliverAck;
             * }}
             */
            DeliverAck.create = function(properties) {
                return new DeliverAck(properties);
            };

            /**
             * Encodes the specified DeliverAck message. Does not implicitly {@link hushwire.v1.DeliverAck.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.DeliverAck
             * @static
             * @param {hushwire.v1.DeliverAck.$Properties} message DeliverAck message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DeliverAck.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.ids != null && message.ids.length)
                    for (let i = 0; i < message.ids.length; ++i)
                        writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.ids[i]);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a DeliverAck message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.DeliverAck
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.DeliverAck & hushwire.v1.DeliverAck.$Shape} DeliverAck
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DeliverAck.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.DeliverAck();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.ids && message.ids.length))
                                message.ids = [];
                            message.ids.push(reader.bytes());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for DeliverAck
             * @function getTypeUrl
             * @memberof hushwire.v1.DeliverAck
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DeliverAck.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.DeliverAck";
            };

            return DeliverAck;
        })();

        v1.Unregister = (function() {

            /**
             * Properties of an Unregister.
             * @typedef {Object} hushwire.v1.Unregister.$Properties
             * @property {Uint8Array|null} [route] Unregister route
             * @property {Uint8Array|null} [signature] Unregister signature
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an Unregister.
             * @memberof hushwire.v1
             * @interface IUnregister
             * @augments hushwire.v1.Unregister.$Properties
             * @deprecated Use hushwire.v1.Unregister.$Properties instead.
             */

            /**
             * Shape of an Unregister.
             * @typedef {hushwire.v1.Unregister.$Properties} hushwire.v1.Unregister.$Shape
             */

            /**
             * Constructs a new Unregister.
             * @memberof hushwire.v1
             * @classdesc Represents an Unregister.
             * @constructor
             * @param {hushwire.v1.Unregister.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Unregister = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Unregister route.
             * @member {Uint8Array} route
             * @memberof hushwire.v1.Unregister
             * @instance
             */
            Unregister.prototype.route = $util.newBuffer([]);

            /**
             * Unregister signature.
             * @member {Uint8Array} signature
             * @memberof hushwire.v1.Unregister
             * @instance
             */
            Unregister.prototype.signature = $util.newBuffer([]);

            /**
             * Creates a new Unregister instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Unregister
             * @static
             * @param {hushwire.v1.Unregister.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Unregister} Unregister instance
             * @type {{
             *   (properties: hushwire.v1.Unregister.$Shape): hushwire.v1.Unregister & hushwire.v1.Unregister.$Shape;
             *   (properties?: hushwire.v1.Unregister.$Properties): hushwire.v1.Unregister;
             * }}
             */
            Unregister.create = function(properties) {
                return new Unregister(properties);
            };

            /**
             * Encodes the specified Unregister message. Does not implicitly {@link hushwire.v1.Unregister.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Unregister
             * @static
             * @param {hushwire.v1.Unregister.$Properties} message Unregister message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Unregister.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.route != null && $Object.hasOwnProperty.call(message, "route") && message.route.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.route);
                if (message.signature != null && $Object.hasOwnProperty.call(message, "signature") && message.signature.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.signature);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an Unregister message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Unregister
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Unregister & hushwire.v1.Unregister.$Shape} Unregister
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Unregister.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Unregister();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.route = value;
                            else
                                delete message.route;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.signature = value;
                            else
                                delete message.signature;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Unregister
             * @function getTypeUrl
             * @memberof hushwire.v1.Unregister
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Unregister.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Unregister";
            };

            return Unregister;
        })();

        v1.SetPrekey = (function() {

            /**
             * Properties of a SetPrekey.
             * @typedef {Object} hushwire.v1.SetPrekey.$Properties
             * @property {Uint8Array|null} [prekey] SetPrekey prekey
             * @property {Uint8Array|null} [prekeySignature] SetPrekey prekeySignature
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a SetPrekey.
             * @memberof hushwire.v1
             * @interface ISetPrekey
             * @augments hushwire.v1.SetPrekey.$Properties
             * @deprecated Use hushwire.v1.SetPrekey.$Properties instead.
             */

            /**
             * Shape of a SetPrekey.
             * @typedef {hushwire.v1.SetPrekey.$Properties} hushwire.v1.SetPrekey.$Shape
             */

            /**
             * Constructs a new SetPrekey.
             * @memberof hushwire.v1
             * @classdesc Represents a SetPrekey.
             * @constructor
             * @param {hushwire.v1.SetPrekey.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const SetPrekey = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * SetPrekey prekey.
             * @member {Uint8Array} prekey
             * @memberof hushwire.v1.SetPrekey
             * @instance
             */
            SetPrekey.prototype.prekey = $util.newBuffer([]);

            /**
             * SetPrekey prekeySignature.
             * @member {Uint8Array} prekeySignature
             * @memberof hushwire.v1.SetPrekey
             * @instance
             */
            SetPrekey.prototype.prekeySignature = $util.newBuffer([]);

            /**
             * Creates a new SetPrekey instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.SetPrekey
             * @static
             * @param {hushwire.v1.SetPrekey.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.SetPrekey} SetPrekey instance
             * @type {{
             *   (properties: hushwire.v1.SetPrekey.$Shape): hushwire.v1.SetPrekey & hushwire.v1.SetPrekey.$Shape;
             *   (properties?: hushwire.v1.SetPrekey.$Properties): hushwire.v1.SetPrekey;
             * }}
             */
            SetPrekey.create = function(properties) {
                return new SetPrekey(properties);
            };

            /**
             * Encodes the specified SetPrekey message. Does not implicitly {@link hushwire.v1.SetPrekey.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.SetPrekey
             * @static
             * @param {hushwire.v1.SetPrekey.$Properties} message SetPrekey message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            SetPrekey.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.prekey != null && $Object.hasOwnProperty.call(message, "prekey") && message.prekey.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.prekey);
                if (message.prekeySignature != null && $Object.hasOwnProperty.call(message, "prekeySignature") && message.prekeySignature.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.prekeySignature);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a SetPrekey message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.SetPrekey
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.SetPrekey & hushwire.v1.SetPrekey.$Shape} SetPrekey
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            SetPrekey.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.SetPrekey();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekey = value;
                            else
                                delete message.prekey;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekeySignature = value;
                            else
                                delete message.prekeySignature;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for SetPrekey
             * @function getTypeUrl
             * @memberof hushwire.v1.SetPrekey
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            SetPrekey.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.SetPrekey";
            };

            return SetPrekey;
        })();

        v1.Ping = (function() {

            /**
             * Properties of a Ping.
             * @typedef {Object} hushwire.v1.Ping.$Properties
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Ping.
             * @memberof hushwire.v1
             * @interface IPing
             * @augments hushwire.v1.Ping.$Properties
             * @deprecated Use hushwire.v1.Ping.$Properties instead.
             */

            /**
             * Shape of a Ping.
             * @typedef {hushwire.v1.Ping.$Properties} hushwire.v1.Ping.$Shape
             */

            /**
             * Constructs a new Ping.
             * @memberof hushwire.v1
             * @classdesc Represents a Ping.
             * @constructor
             * @param {hushwire.v1.Ping.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Ping = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Creates a new Ping instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Ping
             * @static
             * @param {hushwire.v1.Ping.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Ping} Ping instance
             * @type {{
             *   (properties: hushwire.v1.Ping.$Shape): hushwire.v1.Ping & hushwire.v1.Ping.$Shape;
             *   (properties?: hushwire.v1.Ping.$Properties): hushwire.v1.Ping;
             * }}
             */
            Ping.create = function(properties) {
                return new Ping(properties);
            };

            /**
             * Encodes the specified Ping message. Does not implicitly {@link hushwire.v1.Ping.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Ping
             * @static
             * @param {hushwire.v1.Ping.$Properties} message Ping message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Ping.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Ping message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Ping
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Ping & hushwire.v1.Ping.$Shape} Ping
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Ping.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Ping();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    reader.skipType(tag & 7, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Ping
             * @function getTypeUrl
             * @memberof hushwire.v1.Ping
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Ping.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Ping";
            };

            return Ping;
        })();

        v1.Reconnect = (function() {

            /**
             * Properties of a Reconnect.
             * @typedef {Object} hushwire.v1.Reconnect.$Properties
             * @property {number|null} [retryAfterMs] Reconnect retryAfterMs
             * @property {string|null} [reason] Reconnect reason
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Reconnect.
             * @memberof hushwire.v1
             * @interface IReconnect
             * @augments hushwire.v1.Reconnect.$Properties
             * @deprecated Use hushwire.v1.Reconnect.$Properties instead.
             */

            /**
             * Shape of a Reconnect.
             * @typedef {hushwire.v1.Reconnect.$Properties} hushwire.v1.Reconnect.$Shape
             */

            /**
             * Constructs a new Reconnect.
             * @memberof hushwire.v1
             * @classdesc Represents a Reconnect.
             * @constructor
             * @param {hushwire.v1.Reconnect.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Reconnect = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Reconnect retryAfterMs.
             * @member {number} retryAfterMs
             * @memberof hushwire.v1.Reconnect
             * @instance
             */
            Reconnect.prototype.retryAfterMs = 0;

            /**
             * Reconnect reason.
             * @member {string} reason
             * @memberof hushwire.v1.Reconnect
             * @instance
             */
            Reconnect.prototype.reason = "";

            /**
             * Creates a new Reconnect instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Reconnect
             * @static
             * @param {hushwire.v1.Reconnect.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Reconnect} Reconnect instance
             * @type {{
             *   (properties: hushwire.v1.Reconnect.$Shape): hushwire.v1.Reconnect & hushwire.v1.Reconnect.$Shape;
             *   (properties?: hushwire.v1.Reconnect.$Properties): hushwire.v1.Reconnect;
             * }}
             */
            Reconnect.create = function(properties) {
                return new Reconnect(properties);
            };

            /**
             * Encodes the specified Reconnect message. Does not implicitly {@link hushwire.v1.Reconnect.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Reconnect
             * @static
             * @param {hushwire.v1.Reconnect.$Properties} message Reconnect message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Reconnect.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.retryAfterMs != null && $Object.hasOwnProperty.call(message, "retryAfterMs") && message.retryAfterMs !== 0)
                    writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.retryAfterMs);
                if (message.reason != null && $Object.hasOwnProperty.call(message, "reason") && message.reason !== "")
                    writer.uint32(/* id 2, wireType 2 =*/18).string(message.reason);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Reconnect message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Reconnect
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Reconnect & hushwire.v1.Reconnect.$Shape} Reconnect
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Reconnect.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Reconnect();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.retryAfterMs = value;
                            else
                                delete message.retryAfterMs;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.reason = value;
                            else
                                delete message.reason;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Reconnect
             * @function getTypeUrl
             * @memberof hushwire.v1.Reconnect
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Reconnect.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Reconnect";
            };

            return Reconnect;
        })();

        v1.OprfRequest = (function() {

            /**
             * Properties of an OprfRequest.
             * @typedef {Object} hushwire.v1.OprfRequest.$Properties
             * @property {number|null} [version] OprfRequest version
             * @property {Array.<Uint8Array>|null} [blinded] OprfRequest blinded
             * @property {number|null} [timeoutMs] OprfRequest timeoutMs
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an OprfRequest.
             * @memberof hushwire.v1
             * @interface IOprfRequest
             * @augments hushwire.v1.OprfRequest.$Properties
             * @deprecated Use hushwire.v1.OprfRequest.$Properties instead.
             */

            /**
             * Shape of an OprfRequest.
             * @typedef {hushwire.v1.OprfRequest.$Properties} hushwire.v1.OprfRequest.$Shape
             */

            /**
             * Constructs a new OprfRequest.
             * @memberof hushwire.v1
             * @classdesc Represents an OprfRequest.
             * @constructor
             * @param {hushwire.v1.OprfRequest.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const OprfRequest = function (properties) {
                this.blinded = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * OprfRequest version.
             * @member {number} version
             * @memberof hushwire.v1.OprfRequest
             * @instance
             */
            OprfRequest.prototype.version = 0;

            /**
             * OprfRequest blinded.
             * @member {Array.<Uint8Array>} blinded
             * @memberof hushwire.v1.OprfRequest
             * @instance
             */
            OprfRequest.prototype.blinded = $util.emptyArray;

            /**
             * OprfRequest timeoutMs.
             * @member {number} timeoutMs
             * @memberof hushwire.v1.OprfRequest
             * @instance
             */
            OprfRequest.prototype.timeoutMs = 0;

            /**
             * Creates a new OprfRequest instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.OprfRequest
             * @static
             * @param {hushwire.v1.OprfRequest.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.OprfRequest} OprfRequest instance
             * @type {{
             *   (properties: hushwire.v1.OprfRequest.$Shape): hushwire.v1.OprfRequest & hushwire.v1.OprfRequest.$Shape;
             *   (properties?: hushwire.v1.OprfRequest.$Properties): hushwire.v1.OprfRequest;
             * }}
             */
            OprfRequest.create = function(properties) {
                return new OprfRequest(properties);
            };

            /**
             * Encodes the specified OprfRequest message. Does not implicitly {@link hushwire.v1.OprfRequest.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.OprfRequest
             * @static
             * @param {hushwire.v1.OprfRequest.$Properties} message OprfRequest message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            OprfRequest.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.version != null && $Object.hasOwnProperty.call(message, "version") && message.version !== 0)
                    writer.uint32(/* id 1, wireType 0 =*/8).uint32(message.version);
                if (message.blinded != null && message.blinded.length)
                    for (let i = 0; i < message.blinded.length; ++i)
                        writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.blinded[i]);
                if (message.timeoutMs != null && $Object.hasOwnProperty.call(message, "timeoutMs") && message.timeoutMs !== 0)
                    writer.uint32(/* id 3, wireType 0 =*/24).uint32(message.timeoutMs);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an OprfRequest message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.OprfRequest
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.OprfRequest & hushwire.v1.OprfRequest.$Shape} OprfRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            OprfRequest.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.OprfRequest();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.version = value;
                            else
                                delete message.version;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if (!(message.blinded && message.blinded.length))
                                message.blinded = [];
                            message.blinded.push(reader.bytes());
                            continue;
                        }
                    case 3: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.timeoutMs = value;
                            else
                                delete message.timeoutMs;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for OprfRequest
             * @function getTypeUrl
             * @memberof hushwire.v1.OprfRequest
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            OprfRequest.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.OprfRequest";
            };

            return OprfRequest;
        })();

        v1.OprfResponse = (function() {

            /**
             * Properties of an OprfResponse.
             * @typedef {Object} hushwire.v1.OprfResponse.$Properties
             * @property {Array.<Uint8Array>|null} [evaluated] OprfResponse evaluated
             * @property {Uint8Array|null} [proof] OprfResponse proof
             * @property {Uint8Array|null} [publicKey] OprfResponse publicKey
             * @property {hushwire.v1.Error.$Properties|null} [error] OprfResponse error
             * @property {number|null} [maxBatch] OprfResponse maxBatch
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of an OprfResponse.
             * @memberof hushwire.v1
             * @interface IOprfResponse
             * @augments hushwire.v1.OprfResponse.$Properties
             * @deprecated Use hushwire.v1.OprfResponse.$Properties instead.
             */

            /**
             * Shape of an OprfResponse.
             * @typedef {hushwire.v1.OprfResponse.$Properties} hushwire.v1.OprfResponse.$Shape
             */

            /**
             * Constructs a new OprfResponse.
             * @memberof hushwire.v1
             * @classdesc Represents an OprfResponse.
             * @constructor
             * @param {hushwire.v1.OprfResponse.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const OprfResponse = function (properties) {
                this.evaluated = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * OprfResponse evaluated.
             * @member {Array.<Uint8Array>} evaluated
             * @memberof hushwire.v1.OprfResponse
             * @instance
             */
            OprfResponse.prototype.evaluated = $util.emptyArray;

            /**
             * OprfResponse proof.
             * @member {Uint8Array} proof
             * @memberof hushwire.v1.OprfResponse
             * @instance
             */
            OprfResponse.prototype.proof = $util.newBuffer([]);

            /**
             * OprfResponse publicKey.
             * @member {Uint8Array} publicKey
             * @memberof hushwire.v1.OprfResponse
             * @instance
             */
            OprfResponse.prototype.publicKey = $util.newBuffer([]);

            /**
             * OprfResponse error.
             * @member {hushwire.v1.Error.$Properties|null|undefined} error
             * @memberof hushwire.v1.OprfResponse
             * @instance
             */
            OprfResponse.prototype.error = null;

            /**
             * OprfResponse maxBatch.
             * @member {number} maxBatch
             * @memberof hushwire.v1.OprfResponse
             * @instance
             */
            OprfResponse.prototype.maxBatch = 0;

            /**
             * Creates a new OprfResponse instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.OprfResponse
             * @static
             * @param {hushwire.v1.OprfResponse.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.OprfResponse} OprfResponse instance
             * @type {{
             *   (properties: hushwire.v1.OprfResponse.$Shape): hushwire.v1.OprfResponse & hushwire.v1.OprfResponse.$Shape;
             *   (properties?: hushwire.v1.OprfResponse.$Properties): hushwire.v1.OprfResponse;
             * }}
             */
            OprfResponse.create = function(properties) {
                return new OprfResponse(properties);
            };

            /**
             * Encodes the specified OprfResponse message. Does not implicitly {@link hushwire.v1.OprfResponse.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.OprfResponse
             * @static
             * @param {hushwire.v1.OprfResponse.$Properties} message OprfResponse message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            OprfResponse.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.evaluated != null && message.evaluated.length)
                    for (let i = 0; i < message.evaluated.length; ++i)
                        writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.evaluated[i]);
                if (message.proof != null && $Object.hasOwnProperty.call(message, "proof") && message.proof.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.proof);
                if (message.publicKey != null && $Object.hasOwnProperty.call(message, "publicKey") && message.publicKey.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.publicKey);
                if (message.error != null && $Object.hasOwnProperty.call(message, "error"))
                    $root.hushwire.v1.Error.encode(message.error, writer.uint32(/* id 4, wireType 2 =*/34).fork(), _depth + 1).ldelim();
                if (message.maxBatch != null && $Object.hasOwnProperty.call(message, "maxBatch") && message.maxBatch !== 0)
                    writer.uint32(/* id 5, wireType 0 =*/40).uint32(message.maxBatch);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes an OprfResponse message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.OprfResponse
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.OprfResponse & hushwire.v1.OprfResponse.$Shape} OprfResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            OprfResponse.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.OprfResponse();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.evaluated && message.evaluated.length))
                                message.evaluated = [];
                            message.evaluated.push(reader.bytes());
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.proof = value;
                            else
                                delete message.proof;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.publicKey = value;
                            else
                                delete message.publicKey;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            message.error = $root.hushwire.v1.Error.decode(reader, reader.size(), $undefined, _depth + 1, message.error);
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.maxBatch = value;
                            else
                                delete message.maxBatch;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for OprfResponse
             * @function getTypeUrl
             * @memberof hushwire.v1.OprfResponse
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            OprfResponse.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.OprfResponse";
            };

            return OprfResponse;
        })();

        v1.Sealed = (function() {

            /**
             * Properties of a Sealed.
             * @typedef {Object} hushwire.v1.Sealed.$Properties
             * @property {Uint8Array|null} [senderRoute] Sealed senderRoute
             * @property {Uint8Array|null} [senderDevice] Sealed senderDevice
             * @property {Uint8Array|null} [senderIdentityKey] Sealed senderIdentityKey
             * @property {string|null} [senderNumber] Sealed senderNumber
             * @property {number|null} [clientTs] Sealed clientTs
             * @property {number|null} [contentType] Sealed contentType
             * @property {Uint8Array|null} [body] Sealed body
             * @property {number|null} [seq] Sealed seq
             * @property {Uint8Array|null} [signature] Sealed signature
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a Sealed.
             * @memberof hushwire.v1
             * @interface ISealed
             * @augments hushwire.v1.Sealed.$Properties
             * @deprecated Use hushwire.v1.Sealed.$Properties instead.
             */

            /**
             * Shape of a Sealed.
             * @typedef {hushwire.v1.Sealed.$Properties} hushwire.v1.Sealed.$Shape
             */

            /**
             * Constructs a new Sealed.
             * @memberof hushwire.v1
             * @classdesc Represents a Sealed.
             * @constructor
             * @param {hushwire.v1.Sealed.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const Sealed = function (properties) {
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * Sealed senderRoute.
             * @member {Uint8Array} senderRoute
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.senderRoute = $util.newBuffer([]);

            /**
             * Sealed senderDevice.
             * @member {Uint8Array} senderDevice
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.senderDevice = $util.newBuffer([]);

            /**
             * Sealed senderIdentityKey.
             * @member {Uint8Array} senderIdentityKey
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.senderIdentityKey = $util.newBuffer([]);

            /**
             * Sealed senderNumber.
             * @member {string} senderNumber
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.senderNumber = "";

            /**
             * Sealed clientTs.
             * @member {number} clientTs
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.clientTs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Sealed contentType.
             * @member {number} contentType
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.contentType = 0;

            /**
             * Sealed body.
             * @member {Uint8Array} body
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.body = $util.newBuffer([]);

            /**
             * Sealed seq.
             * @member {number} seq
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.seq = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * Sealed signature.
             * @member {Uint8Array} signature
             * @memberof hushwire.v1.Sealed
             * @instance
             */
            Sealed.prototype.signature = $util.newBuffer([]);

            /**
             * Creates a new Sealed instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.Sealed
             * @static
             * @param {hushwire.v1.Sealed.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.Sealed} Sealed instance
             * @type {{
             *   (properties: hushwire.v1.Sealed.$Shape): hushwire.v1.Sealed & hushwire.v1.Sealed.$Shape;
             *   (properties?: hushwire.v1.Sealed.$Properties): hushwire.v1.Sealed;
             * }}
             */
            Sealed.create = function(properties) {
                return new Sealed(properties);
            };

            /**
             * Encodes the specified Sealed message. Does not implicitly {@link hushwire.v1.Sealed.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.Sealed
             * @static
             * @param {hushwire.v1.Sealed.$Properties} message Sealed message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            Sealed.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.senderRoute != null && $Object.hasOwnProperty.call(message, "senderRoute") && message.senderRoute.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.senderRoute);
                if (message.senderDevice != null && $Object.hasOwnProperty.call(message, "senderDevice") && message.senderDevice.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.senderDevice);
                if (message.senderIdentityKey != null && $Object.hasOwnProperty.call(message, "senderIdentityKey") && message.senderIdentityKey.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.senderIdentityKey);
                if (message.senderNumber != null && $Object.hasOwnProperty.call(message, "senderNumber") && message.senderNumber !== "")
                    writer.uint32(/* id 4, wireType 2 =*/34).string(message.senderNumber);
                if (message.clientTs != null && $Object.hasOwnProperty.call(message, "clientTs") && (typeof message.clientTs === "object" ? message.clientTs.low || message.clientTs.high : message.clientTs !== 0))
                    writer.uint32(/* id 5, wireType 0 =*/40).uint64(message.clientTs);
                if (message.contentType != null && $Object.hasOwnProperty.call(message, "contentType") && message.contentType !== 0)
                    writer.uint32(/* id 6, wireType 0 =*/48).uint32(message.contentType);
                if (message.body != null && $Object.hasOwnProperty.call(message, "body") && message.body.length)
                    writer.uint32(/* id 7, wireType 2 =*/58).bytes(message.body);
                if (message.seq != null && $Object.hasOwnProperty.call(message, "seq") && (typeof message.seq === "object" ? message.seq.low || message.seq.high : message.seq !== 0))
                    writer.uint32(/* id 8, wireType 0 =*/64).uint64(message.seq);
                if (message.signature != null && $Object.hasOwnProperty.call(message, "signature") && message.signature.length)
                    writer.uint32(/* id 9, wireType 2 =*/74).bytes(message.signature);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a Sealed message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.Sealed
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.Sealed & hushwire.v1.Sealed.$Shape} Sealed
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            Sealed.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.Sealed();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.senderRoute = value;
                            else
                                delete message.senderRoute;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.senderDevice = value;
                            else
                                delete message.senderDevice;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.senderIdentityKey = value;
                            else
                                delete message.senderIdentityKey;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.stringVerify()).length)
                                message.senderNumber = value;
                            else
                                delete message.senderNumber;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.clientTs = value;
                            else
                                delete message.clientTs;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (value = reader.uint32())
                                message.contentType = value;
                            else
                                delete message.contentType;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.body = value;
                            else
                                delete message.body;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.seq = value;
                            else
                                delete message.seq;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.signature = value;
                            else
                                delete message.signature;
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for Sealed
             * @function getTypeUrl
             * @memberof hushwire.v1.Sealed
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            Sealed.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.Sealed";
            };

            return Sealed;
        })();

        v1.DirectoryDevice = (function() {

            /**
             * Properties of a DirectoryDevice.
             * @typedef {Object} hushwire.v1.DirectoryDevice.$Properties
             * @property {Uint8Array|null} [device] DirectoryDevice device
             * @property {Uint8Array|null} [identityKey] DirectoryDevice identityKey
             * @property {Uint8Array|null} [prekey] DirectoryDevice prekey
             * @property {Uint8Array|null} [prekeySignature] DirectoryDevice prekeySignature
             * @property {number|null} [registeredAtMs] DirectoryDevice registeredAtMs
             * @property {number|null} [lastSeenMs] DirectoryDevice lastSeenMs
             * @property {number|null} [newDeviceNoticeAtMs] DirectoryDevice newDeviceNoticeAtMs
             * @property {number|null} [prekeyRotatedAtMs] DirectoryDevice prekeyRotatedAtMs
             * @property {Array.<Uint8Array>|null} [resumeVerifiers] DirectoryDevice resumeVerifiers
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DirectoryDevice.
             * @memberof hushwire.v1
             * @interface IDirectoryDevice
             * @augments hushwire.v1.DirectoryDevice.$Properties
             * @deprecated Use hushwire.v1.DirectoryDevice.$Properties instead.
             */

            /**
             * Shape of a DirectoryDevice.
             * @typedef {hushwire.v1.DirectoryDevice.$Properties} hushwire.v1.DirectoryDevice.$Shape
             */

            /**
             * Constructs a new DirectoryDevice.
             * @memberof hushwire.v1
             * @classdesc Represents a DirectoryDevice.
             * @constructor
             * @param {hushwire.v1.DirectoryDevice.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DirectoryDevice = function (properties) {
                this.resumeVerifiers = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * DirectoryDevice device.
             * @member {Uint8Array} device
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.device = $util.newBuffer([]);

            /**
             * DirectoryDevice identityKey.
             * @member {Uint8Array} identityKey
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.identityKey = $util.newBuffer([]);

            /**
             * DirectoryDevice prekey.
             * @member {Uint8Array} prekey
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.prekey = $util.newBuffer([]);

            /**
             * DirectoryDevice prekeySignature.
             * @member {Uint8Array} prekeySignature
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.prekeySignature = $util.newBuffer([]);

            /**
             * DirectoryDevice registeredAtMs.
             * @member {number} registeredAtMs
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.registeredAtMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DirectoryDevice lastSeenMs.
             * @member {number} lastSeenMs
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.lastSeenMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DirectoryDevice newDeviceNoticeAtMs.
             * @member {number} newDeviceNoticeAtMs
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.newDeviceNoticeAtMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DirectoryDevice prekeyRotatedAtMs.
             * @member {number} prekeyRotatedAtMs
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.prekeyRotatedAtMs = $util.Long ? $util.Long.fromBits(0,0,true) : 0;

            /**
             * DirectoryDevice resumeVerifiers.
             * @member {Array.<Uint8Array>} resumeVerifiers
             * @memberof hushwire.v1.DirectoryDevice
             * @instance
             */
            DirectoryDevice.prototype.resumeVerifiers = $util.emptyArray;

            /**
             * Creates a new DirectoryDevice instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.DirectoryDevice
             * @static
             * @param {hushwire.v1.DirectoryDevice.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.DirectoryDevice} DirectoryDevice instance
             * @type {{
             *   (properties: hushwire.v1.DirectoryDevice.$Shape): hushwire.v1.DirectoryDevice & hushwire.v1.DirectoryDevice.$Shape;
             *   (properties?: hushwire.v1.DirectoryDevice.$Properties): hushwire.v1.DirectoryDevice;
             * }}
             */
            DirectoryDevice.create = function(properties) {
                return new DirectoryDevice(properties);
            };

            /**
             * Encodes the specified DirectoryDevice message. Does not implicitly {@link hushwire.v1.DirectoryDevice.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.DirectoryDevice
             * @static
             * @param {hushwire.v1.DirectoryDevice.$Properties} message DirectoryDevice message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DirectoryDevice.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.device != null && $Object.hasOwnProperty.call(message, "device") && message.device.length)
                    writer.uint32(/* id 1, wireType 2 =*/10).bytes(message.device);
                if (message.identityKey != null && $Object.hasOwnProperty.call(message, "identityKey") && message.identityKey.length)
                    writer.uint32(/* id 2, wireType 2 =*/18).bytes(message.identityKey);
                if (message.prekey != null && $Object.hasOwnProperty.call(message, "prekey") && message.prekey.length)
                    writer.uint32(/* id 3, wireType 2 =*/26).bytes(message.prekey);
                if (message.prekeySignature != null && $Object.hasOwnProperty.call(message, "prekeySignature") && message.prekeySignature.length)
                    writer.uint32(/* id 4, wireType 2 =*/34).bytes(message.prekeySignature);
                if (message.registeredAtMs != null && $Object.hasOwnProperty.call(message, "registeredAtMs") && (typeof message.registeredAtMs === "object" ? message.registeredAtMs.low || message.registeredAtMs.high : message.registeredAtMs !== 0))
                    writer.uint32(/* id 5, wireType 0 =*/40).uint64(message.registeredAtMs);
                if (message.lastSeenMs != null && $Object.hasOwnProperty.call(message, "lastSeenMs") && (typeof message.lastSeenMs === "object" ? message.lastSeenMs.low || message.lastSeenMs.high : message.lastSeenMs !== 0))
                    writer.uint32(/* id 6, wireType 0 =*/48).uint64(message.lastSeenMs);
                if (message.newDeviceNoticeAtMs != null && $Object.hasOwnProperty.call(message, "newDeviceNoticeAtMs") && (typeof message.newDeviceNoticeAtMs === "object" ? message.newDeviceNoticeAtMs.low || message.newDeviceNoticeAtMs.high : message.newDeviceNoticeAtMs !== 0))
                    writer.uint32(/* id 7, wireType 0 =*/56).uint64(message.newDeviceNoticeAtMs);
                if (message.prekeyRotatedAtMs != null && $Object.hasOwnProperty.call(message, "prekeyRotatedAtMs") && (typeof message.prekeyRotatedAtMs === "object" ? message.prekeyRotatedAtMs.low || message.prekeyRotatedAtMs.high : message.prekeyRotatedAtMs !== 0))
                    writer.uint32(/* id 8, wireType 0 =*/64).uint64(message.prekeyRotatedAtMs);
                if (message.resumeVerifiers != null && message.resumeVerifiers.length)
                    for (let i = 0; i < message.resumeVerifiers.length; ++i)
                        writer.uint32(/* id 9, wireType 2 =*/74).bytes(message.resumeVerifiers[i]);
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a DirectoryDevice message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.DirectoryDevice
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.DirectoryDevice & hushwire.v1.DirectoryDevice.$Shape} DirectoryDevice
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DirectoryDevice.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message, value;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.DirectoryDevice();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.device = value;
                            else
                                delete message.device;
                            continue;
                        }
                    case 2: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.identityKey = value;
                            else
                                delete message.identityKey;
                            continue;
                        }
                    case 3: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekey = value;
                            else
                                delete message.prekey;
                            continue;
                        }
                    case 4: {
                            if (wireType !== 2)
                                break;
                            if ((value = reader.bytes()).length)
                                message.prekeySignature = value;
                            else
                                delete message.prekeySignature;
                            continue;
                        }
                    case 5: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.registeredAtMs = value;
                            else
                                delete message.registeredAtMs;
                            continue;
                        }
                    case 6: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.lastSeenMs = value;
                            else
                                delete message.lastSeenMs;
                            continue;
                        }
                    case 7: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.newDeviceNoticeAtMs = value;
                            else
                                delete message.newDeviceNoticeAtMs;
                            continue;
                        }
                    case 8: {
                            if (wireType !== 0)
                                break;
                            if (typeof (value = reader.uint64()) === "object" ? value.low || value.high : value !== 0)
                                message.prekeyRotatedAtMs = value;
                            else
                                delete message.prekeyRotatedAtMs;
                            continue;
                        }
                    case 9: {
                            if (wireType !== 2)
                                break;
                            if (!(message.resumeVerifiers && message.resumeVerifiers.length))
                                message.resumeVerifiers = [];
                            message.resumeVerifiers.push(reader.bytes());
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for DirectoryDevice
             * @function getTypeUrl
             * @memberof hushwire.v1.DirectoryDevice
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DirectoryDevice.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.DirectoryDevice";
            };

            return DirectoryDevice;
        })();

        v1.DirectoryEntry = (function() {

            /**
             * Properties of a DirectoryEntry.
             * @typedef {Object} hushwire.v1.DirectoryEntry.$Properties
             * @property {Array.<hushwire.v1.DirectoryDevice.$Properties>|null} [devices] DirectoryEntry devices
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */

            /**
             * Properties of a DirectoryEntry.
             * @memberof hushwire.v1
             * @interface IDirectoryEntry
             * @augments hushwire.v1.DirectoryEntry.$Properties
             * @deprecated Use hushwire.v1.DirectoryEntry.$Properties instead.
             */

            /**
             * Shape of a DirectoryEntry.
             * @typedef {hushwire.v1.DirectoryEntry.$Properties} hushwire.v1.DirectoryEntry.$Shape
             */

            /**
             * Constructs a new DirectoryEntry.
             * @memberof hushwire.v1
             * @classdesc Represents a DirectoryEntry.
             * @constructor
             * @param {hushwire.v1.DirectoryEntry.$Properties=} [properties] Properties to set
             * @property {Array.<Uint8Array>} [$unknowns] Unknown fields preserved while decoding when enabled
             */
            const DirectoryEntry = function (properties) {
                this.devices = [];
                if (properties)
                    for (let keys = $Object.keys(properties), i = 0; i < keys.length; ++i)
                        if (properties[keys[i]] != null && keys[i] !== "__proto__")
                            this[keys[i]] = properties[keys[i]];
            };

            /**
             * DirectoryEntry devices.
             * @member {Array.<hushwire.v1.DirectoryDevice.$Properties>} devices
             * @memberof hushwire.v1.DirectoryEntry
             * @instance
             */
            DirectoryEntry.prototype.devices = $util.emptyArray;

            /**
             * Creates a new DirectoryEntry instance using the specified properties.
             * @function create
             * @memberof hushwire.v1.DirectoryEntry
             * @static
             * @param {hushwire.v1.DirectoryEntry.$Properties=} [properties] Properties to set
             * @returns {hushwire.v1.DirectoryEntry} DirectoryEntry instance
             * @type {{
             *   (properties: hushwire.v1.DirectoryEntry.$Shape): hushwire.v1.DirectoryEntry & hushwire.v1.DirectoryEntry.$Shape;
             *   (properties?: hushwire.v1.DirectoryEntry.$Properties): hushwire.v1.DirectoryEntry;
             * }}
             */
            DirectoryEntry.create = function(properties) {
                return new DirectoryEntry(properties);
            };

            /**
             * Encodes the specified DirectoryEntry message. Does not implicitly {@link hushwire.v1.DirectoryEntry.verify|verify} messages.
             * @function encode
             * @memberof hushwire.v1.DirectoryEntry
             * @static
             * @param {hushwire.v1.DirectoryEntry.$Properties} message DirectoryEntry message or plain object to encode
             * @param {$protobuf.Writer} [writer] Writer to encode to
             * @returns {$protobuf.Writer} Writer
             */
            DirectoryEntry.encode = function (message, writer, _depth) {
                if (!writer)
                    writer = $Writer.create();
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $util.recursionLimit)
                    throw $Error("max depth exceeded");
                if (message.devices != null && message.devices.length)
                    for (let i = 0; i < message.devices.length; ++i)
                        $root.hushwire.v1.DirectoryDevice.encode(message.devices[i], writer.uint32(/* id 1, wireType 2 =*/10).fork(), _depth + 1).ldelim();
                if (message.$unknowns != null && $Object.hasOwnProperty.call(message, "$unknowns"))
                    for (let i = 0; i < message.$unknowns.length; ++i)
                        writer.raw(message.$unknowns[i]);
                return writer;
            };

            /**
             * Decodes a DirectoryEntry message from the specified reader or buffer.
             * @function decode
             * @memberof hushwire.v1.DirectoryEntry
             * @static
             * @param {$protobuf.Reader|Uint8Array} reader Reader or buffer to decode from
             * @param {number} [length] Message length if known beforehand
             * @returns {hushwire.v1.DirectoryEntry & hushwire.v1.DirectoryEntry.$Shape} DirectoryEntry
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            DirectoryEntry.decode = function (reader, length, _end, _depth, _target) {
                if (!(reader instanceof $Reader))
                    reader = $Reader.create(reader);
                if (_depth === $undefined)
                    _depth = 0;
                if (_depth > $Reader.recursionLimit)
                    throw $Error("max depth exceeded");
                let end, message;
                if (length === $undefined)
                    end = reader.len;
                else {
                    end = reader.pos + length;
                    if (end > reader.len)
                        throw $RangeError("index out of range");
                    length = reader.len;
                    reader.len = end;
                }
                message = _target || new $root.hushwire.v1.DirectoryEntry();
                while (reader.pos < end) {
                    let start = reader.pos;
                    let tag = reader.tag();
                    if (tag === _end) {
                        _end = $undefined;
                        break;
                    }
                    let wireType = tag & 7;
                    switch (tag >>>= 3) {
                    case 1: {
                            if (wireType !== 2)
                                break;
                            if (!(message.devices && message.devices.length))
                                message.devices = [];
                            message.devices.push($root.hushwire.v1.DirectoryDevice.decode(reader, reader.size(), $undefined, _depth + 1));
                            continue;
                        }
                    }
                    reader.skipType(wireType, _depth, tag);
                    if (!reader.discardUnknown) {
                        $util.makeProp(message, "$unknowns", false);
                        (message.$unknowns || (message.$unknowns = [])).push(reader.raw(start, reader.pos));
                    }
                }
                if (length !== $undefined) {
                    if (reader.pos !== end)
                        throw $RangeError("index out of range");
                    reader.len = length;
                }
                if (_end !== $undefined)
                    throw $Error("missing end group");
                return message;
            };

            /**
             * Gets the type url for DirectoryEntry
             * @function getTypeUrl
             * @memberof hushwire.v1.DirectoryEntry
             * @static
             * @param {string} [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns {string} The type url
             */
            DirectoryEntry.getTypeUrl = function(prefix) {
                if (prefix === $undefined)
                    prefix = "type.googleapis.com";
                return prefix + "/hushwire.v1.DirectoryEntry";
            };

            return DirectoryEntry;
        })();

        return v1;
    })();

    return hushwire;
})();

export {
  $root as default
};
