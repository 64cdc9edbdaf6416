%% The BEAM peer of the `echo` workload (benches/peers/echo/README.md): a
%% gen_tcp echo server in the idiom Erlang programs use, a process per
%% connection with {active, once}.
%%
%%   erlc echo_server.erl && erl -noshell -run echo_server main 0
%%
%% Prints "listening PORT" once it accepts, then serves until killed.
-module(echo_server).
-export([main/1]).

main([PortArg]) ->
    Port = list_to_integer(PortArg),
    {ok, L} = gen_tcp:listen(Port, [binary, {active, false}, {reuseaddr, true},
                                    {backlog, 4096}, {nodelay, true},
                                    {ip, {127, 0, 0, 1}}]),
    {ok, P} = inet:port(L),
    io:format("listening ~p~n", [P]),
    accept(L).

accept(L) ->
    {ok, S} = gen_tcp:accept(L),
    Pid = spawn(fun() -> handler(S) end),
    ok = gen_tcp:controlling_process(S, Pid),
    Pid ! owned,
    accept(L).

handler(S) ->
    receive owned -> ok end,
    ok = inet:setopts(S, [{active, once}]),
    loop(S).

loop(S) ->
    receive
        {tcp, S, Data} ->
            ok = gen_tcp:send(S, Data),
            ok = inet:setopts(S, [{active, once}]),
            loop(S);
        {tcp_closed, S} ->
            ok;
        {tcp_error, S, _} ->
            gen_tcp:close(S)
    end.
