import * as $protobuf from "protobufjs";
import Long = require("long");

export namespace hushwire {

    namespace v1 {

        interface IFrame extends hushwire.v1.Frame.$Properties {
        }

        class Frame {
            constructor(properties?: hushwire.v1.Frame.$Properties);
            $unknowns?: Uint8Array[];
            ops: hushwire.v1.Op.$Properties[];
            static create(properties: hushwire.v1.Frame.$Shape): hushwire.v1.Frame & hushwire.v1.Frame.$Shape;
            static create(properties?: hushwire.v1.Frame.$Properties): hushwire.v1.Frame;
            static encode(message: hushwire.v1.Frame.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Frame & hushwire.v1.Frame.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Frame {
            interface $Properties {
                ops?: (hushwire.v1.Op.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = {
              ops?: hushwire.v1.Op.$Shape[]|null;
              $unknowns?: Uint8Array[];
            };
        }

        interface IOp extends hushwire.v1.Op.$Properties {
        }

        class Op {
            constructor(properties?: hushwire.v1.Op.$Properties);
            $unknowns?: Uint8Array[];
            req: number;
            challenge?: (hushwire.v1.Challenge.$Properties|null);
            ok?: (hushwire.v1.Ok.$Properties|null);
            error?: (hushwire.v1.Error.$Properties|null);
            registered?: (hushwire.v1.Registered.$Properties|null);
            evaluated?: (hushwire.v1.Evaluated.$Properties|null);
            devices?: (hushwire.v1.Devices.$Properties|null);
            sendResult?: (hushwire.v1.SendResult.$Properties|null);
            deliver?: (hushwire.v1.Deliver.$Properties|null);
            reconnect?: (hushwire.v1.Reconnect.$Properties|null);
            verifyStarted?: (hushwire.v1.VerifyStarted.$Properties|null);
            notice?: (hushwire.v1.Notice.$Properties|null);
            devicesBatch?: (hushwire.v1.DevicesBatch.$Properties|null);
            ticket?: (hushwire.v1.Ticket.$Properties|null);
            auth?: (hushwire.v1.Auth.$Properties|null);
            verifyStart?: (hushwire.v1.VerifyStart.$Properties|null);
            register?: (hushwire.v1.RegisterDevice.$Properties|null);
            evaluate?: (hushwire.v1.Evaluate.$Properties|null);
            lookup?: (hushwire.v1.Lookup.$Properties|null);
            send?: (hushwire.v1.Send.$Properties|null);
            deliverAck?: (hushwire.v1.DeliverAck.$Properties|null);
            unregister?: (hushwire.v1.Unregister.$Properties|null);
            ping?: (hushwire.v1.Ping.$Properties|null);
            setPrekey?: (hushwire.v1.SetPrekey.$Properties|null);
            ticketRequest?: (hushwire.v1.TicketRequest.$Properties|null);
            body?: ("challenge"|"ok"|"error"|"registered"|"evaluated"|"devices"|"sendResult"|"deliver"|"reconnect"|"verifyStarted"|"notice"|"devicesBatch"|"ticket"|"auth"|"verifyStart"|"register"|"evaluate"|"lookup"|"send"|"deliverAck"|"unregister"|"ping"|"setPrekey"|"ticketRequest");
            static create(properties: hushwire.v1.Op.$Shape): hushwire.v1.Op & hushwire.v1.Op.$Shape;
            static create(properties?: hushwire.v1.Op.$Properties): hushwire.v1.Op;
            static encode(message: hushwire.v1.Op.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Op & hushwire.v1.Op.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Op {
            interface $Properties {
                req?: (number|null);
                challenge?: (hushwire.v1.Challenge.$Properties|null);
                ok?: (hushwire.v1.Ok.$Properties|null);
                error?: (hushwire.v1.Error.$Properties|null);
                registered?: (hushwire.v1.Registered.$Properties|null);
                evaluated?: (hushwire.v1.Evaluated.$Properties|null);
                devices?: (hushwire.v1.Devices.$Properties|null);
                sendResult?: (hushwire.v1.SendResult.$Properties|null);
                deliver?: (hushwire.v1.Deliver.$Properties|null);
                reconnect?: (hushwire.v1.Reconnect.$Properties|null);
                verifyStarted?: (hushwire.v1.VerifyStarted.$Properties|null);
                notice?: (hushwire.v1.Notice.$Properties|null);
                devicesBatch?: (hushwire.v1.DevicesBatch.$Properties|null);
                ticket?: (hushwire.v1.Ticket.$Properties|null);
                auth?: (hushwire.v1.Auth.$Properties|null);
                verifyStart?: (hushwire.v1.VerifyStart.$Properties|null);
                register?: (hushwire.v1.RegisterDevice.$Properties|null);
                evaluate?: (hushwire.v1.Evaluate.$Properties|null);
                lookup?: (hushwire.v1.Lookup.$Properties|null);
                send?: (hushwire.v1.Send.$Properties|null);
                deliverAck?: (hushwire.v1.DeliverAck.$Properties|null);
                unregister?: (hushwire.v1.Unregister.$Properties|null);
                ping?: (hushwire.v1.Ping.$Properties|null);
                setPrekey?: (hushwire.v1.SetPrekey.$Properties|null);
                ticketRequest?: (hushwire.v1.TicketRequest.$Properties|null);
                body?: ("challenge"|"ok"|"error"|"registered"|"evaluated"|"devices"|"sendResult"|"deliver"|"reconnect"|"verifyStarted"|"notice"|"devicesBatch"|"ticket"|"auth"|"verifyStart"|"register"|"evaluate"|"lookup"|"send"|"deliverAck"|"unregister"|"ping"|"setPrekey"|"ticketRequest");
                $unknowns?: Uint8Array[];
            }
            type $Shape = {
              req?: number|null;
              challenge?: hushwire.v1.Challenge.$Shape|null;
              ok?: hushwire.v1.Ok.$Shape|null;
              error?: hushwire.v1.Error.$Shape|null;
              registered?: hushwire.v1.Registered.$Shape|null;
              evaluated?: hushwire.v1.Evaluated.$Shape|null;
              devices?: hushwire.v1.Devices.$Shape|null;
              sendResult?: hushwire.v1.SendResult.$Shape|null;
              deliver?: hushwire.v1.Deliver.$Shape|null;
              reconnect?: hushwire.v1.Reconnect.$Shape|null;
              verifyStarted?: hushwire.v1.VerifyStarted.$Shape|null;
              notice?: hushwire.v1.Notice.$Shape|null;
              devicesBatch?: hushwire.v1.DevicesBatch.$Shape|null;
              ticket?: hushwire.v1.Ticket.$Shape|null;
              auth?: hushwire.v1.Auth.$Shape|null;
              verifyStart?: hushwire.v1.VerifyStart.$Shape|null;
              register?: hushwire.v1.RegisterDevice.$Shape|null;
              evaluate?: hushwire.v1.Evaluate.$Shape|null;
              lookup?: hushwire.v1.Lookup.$Shape|null;
              send?: hushwire.v1.Send.$Shape|null;
              deliverAck?: hushwire.v1.DeliverAck.$Shape|null;
              unregister?: hushwire.v1.Unregister.$Shape|null;
              ping?: hushwire.v1.Ping.$Shape|null;
              setPrekey?: hushwire.v1.SetPrekey.$Shape|null;
              ticketRequest?: hushwire.v1.TicketRequest.$Shape|null;
              $unknowns?: Uint8Array[];
            } & (
              ({ body?: undefined; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "challenge"; challenge: hushwire.v1.Challenge.$Shape; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ok"; challenge?: null; ok: hushwire.v1.Ok.$Shape; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "error"; challenge?: null; ok?: null; error: hushwire.v1.Error.$Shape; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "registered"; challenge?: null; ok?: null; error?: null; registered: hushwire.v1.Registered.$Shape; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "evaluated"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated: hushwire.v1.Evaluated.$Shape; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "devices"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices: hushwire.v1.Devices.$Shape; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "sendResult"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult: hushwire.v1.SendResult.$Shape; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "deliver"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver: hushwire.v1.Deliver.$Shape; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "reconnect"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect: hushwire.v1.Reconnect.$Shape; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "verifyStarted"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted: hushwire.v1.VerifyStarted.$Shape; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "notice"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice: hushwire.v1.Notice.$Shape; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "devicesBatch"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch: hushwire.v1.DevicesBatch.$Shape; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ticket"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket: hushwire.v1.Ticket.$Shape; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "auth"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth: hushwire.v1.Auth.$Shape; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "verifyStart"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart: hushwire.v1.VerifyStart.$Shape; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "register"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register: hushwire.v1.RegisterDevice.$Shape; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "evaluate"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate: hushwire.v1.Evaluate.$Shape; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "lookup"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup: hushwire.v1.Lookup.$Shape; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "send"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send: hushwire.v1.Send.$Shape; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "deliverAck"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck: hushwire.v1.DeliverAck.$Shape; unregister?: null; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "unregister"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister: hushwire.v1.Unregister.$Shape; ping?: null; setPrekey?: null; ticketRequest?: null }|{ body?: "ping"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping: hushwire.v1.Ping.$Shape; setPrekey?: null; ticketRequest?: null }|{ body?: "setPrekey"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey: hushwire.v1.SetPrekey.$Shape; ticketRequest?: null }|{ body?: "ticketRequest"; challenge?: null; ok?: null; error?: null; registered?: null; evaluated?: null; devices?: null; sendResult?: null; deliver?: null; reconnect?: null; verifyStarted?: null; notice?: null; devicesBatch?: null; ticket?: null; auth?: null; verifyStart?: null; register?: null; evaluate?: null; lookup?: null; send?: null; deliverAck?: null; unregister?: null; ping?: null; setPrekey?: null; ticketRequest: hushwire.v1.TicketRequest.$Shape })
            );
        }

        interface IChallenge extends hushwire.v1.Challenge.$Properties {
        }

        class Challenge {
            constructor(properties?: hushwire.v1.Challenge.$Properties);
            $unknowns?: Uint8Array[];
            nonce: Uint8Array;
            serverTimeMs: number;
            oprfPublicKey: Uint8Array;
            maxFrameBytes: number;
            authDeadlineMs: number;
            protocol: number;
            oprfShareKeys: Uint8Array[];
            mailboxMaxAgeS: number;
            resumeKey: Uint8Array;
            static create(properties: hushwire.v1.Challenge.$Shape): hushwire.v1.Challenge & hushwire.v1.Challenge.$Shape;
            static create(properties?: hushwire.v1.Challenge.$Properties): hushwire.v1.Challenge;
            static encode(message: hushwire.v1.Challenge.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Challenge & hushwire.v1.Challenge.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Challenge {
            interface $Properties {
                nonce?: (Uint8Array|null);
                serverTimeMs?: (number|null);
                oprfPublicKey?: (Uint8Array|null);
                maxFrameBytes?: (number|null);
                authDeadlineMs?: (number|null);
                protocol?: (number|null);
                oprfShareKeys?: (Uint8Array[]|null);
                mailboxMaxAgeS?: (number|null);
                resumeKey?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Challenge.$Properties;
        }

        interface IOk extends hushwire.v1.Ok.$Properties {
        }

        class Ok {
            constructor(properties?: hushwire.v1.Ok.$Properties);
            $unknowns?: Uint8Array[];
            static create(properties: hushwire.v1.Ok.$Shape): hushwire.v1.Ok & hushwire.v1.Ok.$Shape;
            static create(properties?: hushwire.v1.Ok.$Properties): hushwire.v1.Ok;
            static encode(message: hushwire.v1.Ok.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Ok & hushwire.v1.Ok.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Ok {
            interface $Properties {
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Ok.$Properties;
        }

        interface IError extends hushwire.v1.Error.$Properties {
        }

        class Error {
            constructor(properties?: hushwire.v1.Error.$Properties);
            $unknowns?: Uint8Array[];
            code: string;
            message: string;
            retryAfterMs: number;
            static create(properties: hushwire.v1.Error.$Shape): hushwire.v1.Error & hushwire.v1.Error.$Shape;
            static create(properties?: hushwire.v1.Error.$Properties): hushwire.v1.Error;
            static encode(message: hushwire.v1.Error.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Error & hushwire.v1.Error.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Error {
            interface $Properties {
                code?: (string|null);
                message?: (string|null);
                retryAfterMs?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Error.$Properties;
        }

        interface IAuth extends hushwire.v1.Auth.$Properties {
        }

        class Auth {
            constructor(properties?: hushwire.v1.Auth.$Properties);
            $unknowns?: Uint8Array[];
            route: Uint8Array;
            device: Uint8Array;
            signature: Uint8Array;
            sendOnly: boolean;
            ticket: Uint8Array;
            proof: Uint8Array;
            static create(properties: hushwire.v1.Auth.$Shape): hushwire.v1.Auth & hushwire.v1.Auth.$Shape;
            static create(properties?: hushwire.v1.Auth.$Properties): hushwire.v1.Auth;
            static encode(message: hushwire.v1.Auth.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Auth & hushwire.v1.Auth.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Auth {
            interface $Properties {
                route?: (Uint8Array|null);
                device?: (Uint8Array|null);
                signature?: (Uint8Array|null);
                sendOnly?: (boolean|null);
                ticket?: (Uint8Array|null);
                proof?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Auth.$Properties;
        }

        interface ITicketRequest extends hushwire.v1.TicketRequest.$Properties {
        }

        class TicketRequest {
            constructor(properties?: hushwire.v1.TicketRequest.$Properties);
            $unknowns?: Uint8Array[];
            publicKey: Uint8Array;
            static create(properties: hushwire.v1.TicketRequest.$Shape): hushwire.v1.TicketRequest & hushwire.v1.TicketRequest.$Shape;
            static create(properties?: hushwire.v1.TicketRequest.$Properties): hushwire.v1.TicketRequest;
            static encode(message: hushwire.v1.TicketRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.TicketRequest & hushwire.v1.TicketRequest.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace TicketRequest {
            interface $Properties {
                publicKey?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.TicketRequest.$Properties;
        }

        interface ITicket extends hushwire.v1.Ticket.$Properties {
        }

        class Ticket {
            constructor(properties?: hushwire.v1.Ticket.$Properties);
            $unknowns?: Uint8Array[];
            ticket: Uint8Array;
            expiresInS: number;
            static create(properties: hushwire.v1.Ticket.$Shape): hushwire.v1.Ticket & hushwire.v1.Ticket.$Shape;
            static create(properties?: hushwire.v1.Ticket.$Properties): hushwire.v1.Ticket;
            static encode(message: hushwire.v1.Ticket.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Ticket & hushwire.v1.Ticket.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Ticket {
            interface $Properties {
                ticket?: (Uint8Array|null);
                expiresInS?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Ticket.$Properties;
        }

        interface IVerifyStart extends hushwire.v1.VerifyStart.$Properties {
        }

        class VerifyStart {
            constructor(properties?: hushwire.v1.VerifyStart.$Properties);
            $unknowns?: Uint8Array[];
            number: string;
            static create(properties: hushwire.v1.VerifyStart.$Shape): hushwire.v1.VerifyStart & hushwire.v1.VerifyStart.$Shape;
            static create(properties?: hushwire.v1.VerifyStart.$Properties): hushwire.v1.VerifyStart;
            static encode(message: hushwire.v1.VerifyStart.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.VerifyStart & hushwire.v1.VerifyStart.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace VerifyStart {
            interface $Properties {
                number?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.VerifyStart.$Properties;
        }

        interface IVerifyStarted extends hushwire.v1.VerifyStarted.$Properties {
        }

        class VerifyStarted {
            constructor(properties?: hushwire.v1.VerifyStarted.$Properties);
            $unknowns?: Uint8Array[];
            expiresInS: number;
            devCode: string;
            static create(properties: hushwire.v1.VerifyStarted.$Shape): hushwire.v1.VerifyStarted & hushwire.v1.VerifyStarted.$Shape;
            static create(properties?: hushwire.v1.VerifyStarted.$Properties): hushwire.v1.VerifyStarted;
            static encode(message: hushwire.v1.VerifyStarted.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.VerifyStarted & hushwire.v1.VerifyStarted.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace VerifyStarted {
            interface $Properties {
                expiresInS?: (number|null);
                devCode?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.VerifyStarted.$Properties;
        }

        interface IRegisterDevice extends hushwire.v1.RegisterDevice.$Properties {
        }

        class RegisterDevice {
            constructor(properties?: hushwire.v1.RegisterDevice.$Properties);
            $unknowns?: Uint8Array[];
            number: string;
            code: string;
            device: Uint8Array;
            identityKey: Uint8Array;
            prekey: Uint8Array;
            prekeySignature: Uint8Array;
            signature: Uint8Array;
            blinded: Uint8Array;
            static create(properties: hushwire.v1.RegisterDevice.$Shape): hushwire.v1.RegisterDevice & hushwire.v1.RegisterDevice.$Shape;
            static create(properties?: hushwire.v1.RegisterDevice.$Properties): hushwire.v1.RegisterDevice;
            static encode(message: hushwire.v1.RegisterDevice.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.RegisterDevice & hushwire.v1.RegisterDevice.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace RegisterDevice {
            interface $Properties {
                number?: (string|null);
                code?: (string|null);
                device?: (Uint8Array|null);
                identityKey?: (Uint8Array|null);
                prekey?: (Uint8Array|null);
                prekeySignature?: (Uint8Array|null);
                signature?: (Uint8Array|null);
                blinded?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.RegisterDevice.$Properties;
        }

        interface IRegistered extends hushwire.v1.Registered.$Properties {
        }

        class Registered {
            constructor(properties?: hushwire.v1.Registered.$Properties);
            $unknowns?: Uint8Array[];
            route: Uint8Array;
            evaluation?: (hushwire.v1.Evaluated.$Properties|null);
            static create(properties: hushwire.v1.Registered.$Shape): hushwire.v1.Registered & hushwire.v1.Registered.$Shape;
            static create(properties?: hushwire.v1.Registered.$Properties): hushwire.v1.Registered;
            static encode(message: hushwire.v1.Registered.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Registered & hushwire.v1.Registered.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Registered {
            interface $Properties {
                route?: (Uint8Array|null);
                evaluation?: (hushwire.v1.Evaluated.$Properties|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Registered.$Properties;
        }

        interface IEvaluate extends hushwire.v1.Evaluate.$Properties {
        }

        class Evaluate {
            constructor(properties?: hushwire.v1.Evaluate.$Properties);
            $unknowns?: Uint8Array[];
            blinded: Uint8Array[];
            static create(properties: hushwire.v1.Evaluate.$Shape): hushwire.v1.Evaluate & hushwire.v1.Evaluate.$Shape;
            static create(properties?: hushwire.v1.Evaluate.$Properties): hushwire.v1.Evaluate;
            static encode(message: hushwire.v1.Evaluate.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Evaluate & hushwire.v1.Evaluate.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Evaluate {
            interface $Properties {
                blinded?: (Uint8Array[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Evaluate.$Properties;
        }

        interface IEvaluated extends hushwire.v1.Evaluated.$Properties {
        }

        class Evaluated {
            constructor(properties?: hushwire.v1.Evaluated.$Properties);
            $unknowns?: Uint8Array[];
            evaluated: Uint8Array[];
            proof: Uint8Array;
            shares: hushwire.v1.EvaluatedShare.$Properties[];
            static create(properties: hushwire.v1.Evaluated.$Shape): hushwire.v1.Evaluated & hushwire.v1.Evaluated.$Shape;
            static create(properties?: hushwire.v1.Evaluated.$Properties): hushwire.v1.Evaluated;
            static encode(message: hushwire.v1.Evaluated.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Evaluated & hushwire.v1.Evaluated.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Evaluated {
            interface $Properties {
                evaluated?: (Uint8Array[]|null);
                proof?: (Uint8Array|null);
                shares?: (hushwire.v1.EvaluatedShare.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Evaluated.$Properties;
        }

        interface IEvaluatedShare extends hushwire.v1.EvaluatedShare.$Properties {
        }

        class EvaluatedShare {
            constructor(properties?: hushwire.v1.EvaluatedShare.$Properties);
            $unknowns?: Uint8Array[];
            publicKey: Uint8Array;
            evaluated: Uint8Array[];
            proof: Uint8Array;
            static create(properties: hushwire.v1.EvaluatedShare.$Shape): hushwire.v1.EvaluatedShare & hushwire.v1.EvaluatedShare.$Shape;
            static create(properties?: hushwire.v1.EvaluatedShare.$Properties): hushwire.v1.EvaluatedShare;
            static encode(message: hushwire.v1.EvaluatedShare.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.EvaluatedShare & hushwire.v1.EvaluatedShare.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace EvaluatedShare {
            interface $Properties {
                publicKey?: (Uint8Array|null);
                evaluated?: (Uint8Array[]|null);
                proof?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.EvaluatedShare.$Properties;
        }

        interface ILookup extends hushwire.v1.Lookup.$Properties {
        }

        class Lookup {
            constructor(properties?: hushwire.v1.Lookup.$Properties);
            $unknowns?: Uint8Array[];
            route: Uint8Array;
            routes: Uint8Array[];
            fresh: boolean;
            static create(properties: hushwire.v1.Lookup.$Shape): hushwire.v1.Lookup & hushwire.v1.Lookup.$Shape;
            static create(properties?: hushwire.v1.Lookup.$Properties): hushwire.v1.Lookup;
            static encode(message: hushwire.v1.Lookup.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Lookup & hushwire.v1.Lookup.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Lookup {
            interface $Properties {
                route?: (Uint8Array|null);
                routes?: (Uint8Array[]|null);
                fresh?: (boolean|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Lookup.$Properties;
        }

        interface IDeviceKeys extends hushwire.v1.DeviceKeys.$Properties {
        }

        class DeviceKeys {
            constructor(properties?: hushwire.v1.DeviceKeys.$Properties);
            $unknowns?: Uint8Array[];
            device: Uint8Array;
            identityKey: Uint8Array;
            prekey: Uint8Array;
            prekeySignature: Uint8Array;
            static create(properties: hushwire.v1.DeviceKeys.$Shape): hushwire.v1.DeviceKeys & hushwire.v1.DeviceKeys.$Shape;
            static create(properties?: hushwire.v1.DeviceKeys.$Properties): hushwire.v1.DeviceKeys;
            static encode(message: hushwire.v1.DeviceKeys.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.DeviceKeys & hushwire.v1.DeviceKeys.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace DeviceKeys {
            interface $Properties {
                device?: (Uint8Array|null);
                identityKey?: (Uint8Array|null);
                prekey?: (Uint8Array|null);
                prekeySignature?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.DeviceKeys.$Properties;
        }

        interface IDevices extends hushwire.v1.Devices.$Properties {
        }

        class Devices {
            constructor(properties?: hushwire.v1.Devices.$Properties);
            $unknowns?: Uint8Array[];
            route: Uint8Array;
            devices: hushwire.v1.DeviceKeys.$Properties[];
            padding: Uint8Array;
            static create(properties: hushwire.v1.Devices.$Shape): hushwire.v1.Devices & hushwire.v1.Devices.$Shape;
            static create(properties?: hushwire.v1.Devices.$Properties): hushwire.v1.Devices;
            static encode(message: hushwire.v1.Devices.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Devices & hushwire.v1.Devices.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Devices {
            interface $Properties {
                route?: (Uint8Array|null);
                devices?: (hushwire.v1.DeviceKeys.$Properties[]|null);
                padding?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Devices.$Properties;
        }

        interface IDevicesBatch extends hushwire.v1.DevicesBatch.$Properties {
        }

        class DevicesBatch {
            constructor(properties?: hushwire.v1.DevicesBatch.$Properties);
            $unknowns?: Uint8Array[];
            results: hushwire.v1.Devices.$Properties[];
            static create(properties: hushwire.v1.DevicesBatch.$Shape): hushwire.v1.DevicesBatch & hushwire.v1.DevicesBatch.$Shape;
            static create(properties?: hushwire.v1.DevicesBatch.$Properties): hushwire.v1.DevicesBatch;
            static encode(message: hushwire.v1.DevicesBatch.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.DevicesBatch & hushwire.v1.DevicesBatch.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace DevicesBatch {
            interface $Properties {
                results?: (hushwire.v1.Devices.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.DevicesBatch.$Properties;
        }

        interface INotice extends hushwire.v1.Notice.$Properties {
        }

        class Notice {
            constructor(properties?: hushwire.v1.Notice.$Properties);
            $unknowns?: Uint8Array[];
            kind: string;
            atMs: number;
            static create(properties: hushwire.v1.Notice.$Shape): hushwire.v1.Notice & hushwire.v1.Notice.$Shape;
            static create(properties?: hushwire.v1.Notice.$Properties): hushwire.v1.Notice;
            static encode(message: hushwire.v1.Notice.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Notice & hushwire.v1.Notice.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Notice {
            interface $Properties {
                kind?: (string|null);
                atMs?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Notice.$Properties;
        }

        interface IEnvelope extends hushwire.v1.Envelope.$Properties {
        }

        class Envelope {
            constructor(properties?: hushwire.v1.Envelope.$Properties);
            $unknowns?: Uint8Array[];
            version: number;
            route: Uint8Array;
            device: Uint8Array;
            id: Uint8Array;
            suite: number;
            enc: Uint8Array;
            ciphertext: Uint8Array;
            serverTs: number;
            static create(properties: hushwire.v1.Envelope.$Shape): hushwire.v1.Envelope & hushwire.v1.Envelope.$Shape;
            static create(properties?: hushwire.v1.Envelope.$Properties): hushwire.v1.Envelope;
            static encode(message: hushwire.v1.Envelope.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Envelope & hushwire.v1.Envelope.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Envelope {
            interface $Properties {
                version?: (number|null);
                route?: (Uint8Array|null);
                device?: (Uint8Array|null);
                id?: (Uint8Array|null);
                suite?: (number|null);
                enc?: (Uint8Array|null);
                ciphertext?: (Uint8Array|null);
                serverTs?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Envelope.$Properties;
        }

        interface ISend extends hushwire.v1.Send.$Properties {
        }

        class Send {
            constructor(properties?: hushwire.v1.Send.$Properties);
            $unknowns?: Uint8Array[];
            envelopes: hushwire.v1.Envelope.$Properties[];
            static create(properties: hushwire.v1.Send.$Shape): hushwire.v1.Send & hushwire.v1.Send.$Shape;
            static create(properties?: hushwire.v1.Send.$Properties): hushwire.v1.Send;
            static encode(message: hushwire.v1.Send.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Send & hushwire.v1.Send.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Send {
            interface $Properties {
                envelopes?: (hushwire.v1.Envelope.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Send.$Properties;
        }

        interface IReceipt extends hushwire.v1.Receipt.$Properties {
        }

        class Receipt {
            constructor(properties?: hushwire.v1.Receipt.$Properties);
            $unknowns?: Uint8Array[];
            id: Uint8Array;
            status: string;
            code: string;
            retryAfterMs: number;
            static create(properties: hushwire.v1.Receipt.$Shape): hushwire.v1.Receipt & hushwire.v1.Receipt.$Shape;
            static create(properties?: hushwire.v1.Receipt.$Properties): hushwire.v1.Receipt;
            static encode(message: hushwire.v1.Receipt.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Receipt & hushwire.v1.Receipt.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Receipt {
            interface $Properties {
                id?: (Uint8Array|null);
                status?: (string|null);
                code?: (string|null);
                retryAfterMs?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Receipt.$Properties;
        }

        interface ISendResult extends hushwire.v1.SendResult.$Properties {
        }

        class SendResult {
            constructor(properties?: hushwire.v1.SendResult.$Properties);
            $unknowns?: Uint8Array[];
            receipts: hushwire.v1.Receipt.$Properties[];
            static create(properties: hushwire.v1.SendResult.$Shape): hushwire.v1.SendResult & hushwire.v1.SendResult.$Shape;
            static create(properties?: hushwire.v1.SendResult.$Properties): hushwire.v1.SendResult;
            static encode(message: hushwire.v1.SendResult.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.SendResult & hushwire.v1.SendResult.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace SendResult {
            interface $Properties {
                receipts?: (hushwire.v1.Receipt.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.SendResult.$Properties;
        }

        interface IDeliver extends hushwire.v1.Deliver.$Properties {
        }

        class Deliver {
            constructor(properties?: hushwire.v1.Deliver.$Properties);
            $unknowns?: Uint8Array[];
            envelopes: hushwire.v1.Envelope.$Properties[];
            static create(properties: hushwire.v1.Deliver.$Shape): hushwire.v1.Deliver & hushwire.v1.Deliver.$Shape;
            static create(properties?: hushwire.v1.Deliver.$Properties): hushwire.v1.Deliver;
            static encode(message: hushwire.v1.Deliver.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Deliver & hushwire.v1.Deliver.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Deliver {
            interface $Properties {
                envelopes?: (hushwire.v1.Envelope.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Deliver.$Properties;
        }

        interface IDeliverAck extends hushwire.v1.DeliverAck.$Properties {
        }

        class DeliverAck {
            constructor(properties?: hushwire.v1.DeliverAck.$Properties);
            $unknowns?: Uint8Array[];
            ids: Uint8Array[];
            static create(properties: hushwire.v1.DeliverAck.$Shape): hushwire.v1.DeliverAck & hushwire.v1.DeliverAck.$Shape;
            static create(properties?: hushwire.v1.DeliverAck.$Properties): hushwire.v1.DeliverAck;
            static encode(message: hushwire.v1.DeliverAck.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.DeliverAck & hushwire.v1.DeliverAck.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace DeliverAck {
            interface $Properties {
                ids?: (Uint8Array[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.DeliverAck.$Properties;
        }

        interface IUnregister extends hushwire.v1.Unregister.$Properties {
        }

        class Unregister {
            constructor(properties?: hushwire.v1.Unregister.$Properties);
            $unknowns?: Uint8Array[];
            route: Uint8Array;
            signature: Uint8Array;
            static create(properties: hushwire.v1.Unregister.$Shape): hushwire.v1.Unregister & hushwire.v1.Unregister.$Shape;
            static create(properties?: hushwire.v1.Unregister.$Properties): hushwire.v1.Unregister;
            static encode(message: hushwire.v1.Unregister.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Unregister & hushwire.v1.Unregister.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Unregister {
            interface $Properties {
                route?: (Uint8Array|null);
                signature?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Unregister.$Properties;
        }

        interface ISetPrekey extends hushwire.v1.SetPrekey.$Properties {
        }

        class SetPrekey {
            constructor(properties?: hushwire.v1.SetPrekey.$Properties);
            $unknowns?: Uint8Array[];
            prekey: Uint8Array;
            prekeySignature: Uint8Array;
            static create(properties: hushwire.v1.SetPrekey.$Shape): hushwire.v1.SetPrekey & hushwire.v1.SetPrekey.$Shape;
            static create(properties?: hushwire.v1.SetPrekey.$Properties): hushwire.v1.SetPrekey;
            static encode(message: hushwire.v1.SetPrekey.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.SetPrekey & hushwire.v1.SetPrekey.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace SetPrekey {
            interface $Properties {
                prekey?: (Uint8Array|null);
                prekeySignature?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.SetPrekey.$Properties;
        }

        interface IPing extends hushwire.v1.Ping.$Properties {
        }

        class Ping {
            constructor(properties?: hushwire.v1.Ping.$Properties);
            $unknowns?: Uint8Array[];
            static create(properties: hushwire.v1.Ping.$Shape): hushwire.v1.Ping & hushwire.v1.Ping.$Shape;
            static create(properties?: hushwire.v1.Ping.$Properties): hushwire.v1.Ping;
            static encode(message: hushwire.v1.Ping.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Ping & hushwire.v1.Ping.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Ping {
            interface $Properties {
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Ping.$Properties;
        }

        interface IReconnect extends hushwire.v1.Reconnect.$Properties {
        }

        class Reconnect {
            constructor(properties?: hushwire.v1.Reconnect.$Properties);
            $unknowns?: Uint8Array[];
            retryAfterMs: number;
            reason: string;
            static create(properties: hushwire.v1.Reconnect.$Shape): hushwire.v1.Reconnect & hushwire.v1.Reconnect.$Shape;
            static create(properties?: hushwire.v1.Reconnect.$Properties): hushwire.v1.Reconnect;
            static encode(message: hushwire.v1.Reconnect.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Reconnect & hushwire.v1.Reconnect.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Reconnect {
            interface $Properties {
                retryAfterMs?: (number|null);
                reason?: (string|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Reconnect.$Properties;
        }

        interface IOprfRequest extends hushwire.v1.OprfRequest.$Properties {
        }

        class OprfRequest {
            constructor(properties?: hushwire.v1.OprfRequest.$Properties);
            $unknowns?: Uint8Array[];
            version: number;
            blinded: Uint8Array[];
            timeoutMs: number;
            static create(properties: hushwire.v1.OprfRequest.$Shape): hushwire.v1.OprfRequest & hushwire.v1.OprfRequest.$Shape;
            static create(properties?: hushwire.v1.OprfRequest.$Properties): hushwire.v1.OprfRequest;
            static encode(message: hushwire.v1.OprfRequest.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.OprfRequest & hushwire.v1.OprfRequest.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace OprfRequest {
            interface $Properties {
                version?: (number|null);
                blinded?: (Uint8Array[]|null);
                timeoutMs?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.OprfRequest.$Properties;
        }

        interface IOprfResponse extends hushwire.v1.OprfResponse.$Properties {
        }

        class OprfResponse {
            constructor(properties?: hushwire.v1.OprfResponse.$Properties);
            $unknowns?: Uint8Array[];
            evaluated: Uint8Array[];
            proof: Uint8Array;
            publicKey: Uint8Array;
            error?: (hushwire.v1.Error.$Properties|null);
            maxBatch: number;
            static create(properties: hushwire.v1.OprfResponse.$Shape): hushwire.v1.OprfResponse & hushwire.v1.OprfResponse.$Shape;
            static create(properties?: hushwire.v1.OprfResponse.$Properties): hushwire.v1.OprfResponse;
            static encode(message: hushwire.v1.OprfResponse.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.OprfResponse & hushwire.v1.OprfResponse.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace OprfResponse {
            interface $Properties {
                evaluated?: (Uint8Array[]|null);
                proof?: (Uint8Array|null);
                publicKey?: (Uint8Array|null);
                error?: (hushwire.v1.Error.$Properties|null);
                maxBatch?: (number|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.OprfResponse.$Properties;
        }

        interface ISealed extends hushwire.v1.Sealed.$Properties {
        }

        class Sealed {
            constructor(properties?: hushwire.v1.Sealed.$Properties);
            $unknowns?: Uint8Array[];
            senderRoute: Uint8Array;
            senderDevice: Uint8Array;
            senderIdentityKey: Uint8Array;
            senderNumber: string;
            clientTs: number;
            contentType: number;
            body: Uint8Array;
            seq: number;
            signature: Uint8Array;
            static create(properties: hushwire.v1.Sealed.$Shape): hushwire.v1.Sealed & hushwire.v1.Sealed.$Shape;
            static create(properties?: hushwire.v1.Sealed.$Properties): hushwire.v1.Sealed;
            static encode(message: hushwire.v1.Sealed.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.Sealed & hushwire.v1.Sealed.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace Sealed {
            interface $Properties {
                senderRoute?: (Uint8Array|null);
                senderDevice?: (Uint8Array|null);
                senderIdentityKey?: (Uint8Array|null);
                senderNumber?: (string|null);
                clientTs?: (number|null);
                contentType?: (number|null);
                body?: (Uint8Array|null);
                seq?: (number|null);
                signature?: (Uint8Array|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.Sealed.$Properties;
        }

        interface IDirectoryDevice extends hushwire.v1.DirectoryDevice.$Properties {
        }

        class DirectoryDevice {
            constructor(properties?: hushwire.v1.DirectoryDevice.$Properties);
            $unknowns?: Uint8Array[];
            device: Uint8Array;
            identityKey: Uint8Array;
            prekey: Uint8Array;
            prekeySignature: Uint8Array;
            registeredAtMs: number;
            lastSeenMs: number;
            newDeviceNoticeAtMs: number;
            prekeyRotatedAtMs: number;
            resumeVerifiers: Uint8Array[];
            static create(properties: hushwire.v1.DirectoryDevice.$Shape): hushwire.v1.DirectoryDevice & hushwire.v1.DirectoryDevice.$Shape;
            static create(properties?: hushwire.v1.DirectoryDevice.$Properties): hushwire.v1.DirectoryDevice;
            static encode(message: hushwire.v1.DirectoryDevice.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.DirectoryDevice & hushwire.v1.DirectoryDevice.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace DirectoryDevice {
            interface $Properties {
                device?: (Uint8Array|null);
                identityKey?: (Uint8Array|null);
                prekey?: (Uint8Array|null);
                prekeySignature?: (Uint8Array|null);
                registeredAtMs?: (number|null);
                lastSeenMs?: (number|null);
                newDeviceNoticeAtMs?: (number|null);
                prekeyRotatedAtMs?: (number|null);
                resumeVerifiers?: (Uint8Array[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.DirectoryDevice.$Properties;
        }

        interface IDirectoryEntry extends hushwire.v1.DirectoryEntry.$Properties {
        }

        class DirectoryEntry {
            constructor(properties?: hushwire.v1.DirectoryEntry.$Properties);
            $unknowns?: Uint8Array[];
            devices: hushwire.v1.DirectoryDevice.$Properties[];
            static create(properties: hushwire.v1.DirectoryEntry.$Shape): hushwire.v1.DirectoryEntry & hushwire.v1.DirectoryEntry.$Shape;
            static create(properties?: hushwire.v1.DirectoryEntry.$Properties): hushwire.v1.DirectoryEntry;
            static encode(message: hushwire.v1.DirectoryEntry.$Properties, writer?: $protobuf.Writer): $protobuf.Writer;
            static decode(reader: ($protobuf.Reader|Uint8Array), length?: number): hushwire.v1.DirectoryEntry & hushwire.v1.DirectoryEntry.$Shape;
            static getTypeUrl(prefix?: string): string;
        }

        namespace DirectoryEntry {
            interface $Properties {
                devices?: (hushwire.v1.DirectoryDevice.$Properties[]|null);
                $unknowns?: Uint8Array[];
            }
            type $Shape = hushwire.v1.DirectoryEntry.$Properties;
        }
    }
}
