<?php
/**
 * The API of horde-activesync's optional Horde extension (JSON-RPC methods
 * `activesync.sources` and `activesync.highestModSeqs`).
 *
 * Why it exists: Horde_Rpc authenticates the HTTP Basic credentials again on
 * every rpc.php request (Horde_Rpc::authorize()), and booting Horde plus that
 * check costs ~13 ms of PHP per call whatever the method does. horde-activesync
 * would otherwise make one call per application for a folder list and one per
 * collection for a change check; these methods answer each of those in one
 * call, doing the per-application work in-process.
 *
 * Neither method widens what a user may see:
 * - sources() goes through the registry to each application's own
 *   `sources` and `getDefaultShare`, so Horde's permission rules apply
 *   exactly as when horde-activesync calls them one by one;
 * - highestModSeqs() answers the same number each application's own
 *   `getHighestModSeq($id)` answers (a one-liner on Horde_History that checks
 *   no permission either): a change counter, never data. On SQLite it reads
 *   that number with an indexed query instead of Horde_History's LIKE scan
 *   (see _highestModSeq()).
 *
 * @license  GPL-2.0-or-later (same as horde-activesync)
 * @package  Activesync
 */
class Activesync_Api extends Horde_Registry_Api
{
    /**
     * The registry interfaces served, with the history prefix their
     * application writes (`turba:<addressbook>:<uid>`, ...).
     *
     * @var array
     */
    protected static $_interfaces = array(
        'contacts' => 'turba',
        'calendar' => 'kronolith',
        'tasks' => 'nag',
        'notes' => 'mnemo',
    );

    /**
     * Most parents one highestModSeqs() call accepts (a device syncs far
     * fewer collections; this only bounds the work of one request).
     */
    const MAX_PARENTS = 1000;

    /**
     * The collections of every groupware interface the user may use.
     *
     * For each of contacts, calendar, tasks and notes whose application is
     * installed and active for the user, the interface's own answers:
     * `sources` is exactly what `<interface>.sources` returns (collection id
     * => name) and `default` what `<interface>.getDefaultShare` returns. An
     * interface whose application is missing, inactive or not permitted
     * (Horde refuses to push it for this user) is simply absent. Not
     * $registry->listApps(): it checks the permissions of every installed
     * application, ~5 ms of this ~30 ms call.
     *
     * @param boolean $writeable  Passed to each `sources`: only collections
     *                            the user can write to.
     * @param boolean $sync_only  Passed to each `sources`: only collections
     *                            the user chose to synchronise.
     *
     * @return array  interface => array('sources' => array, 'default' => string)
     * @throws Horde_Exception  An application failed (same as its own call).
     */
    public function sources($writeable = false, $sync_only = false)
    {
        global $registry;

        $out = array();
        foreach (self::$_interfaces as $interface => $app) {
            if ($registry->hasInterface($interface) !== $app ||
                $registry->isInactive($app)) {
                continue;
            }
            try {
                $out[$interface] = array(
                    'sources' => $registry->call(
                        $interface . '/sources',
                        array((bool)$writeable, (bool)$sync_only)
                    ),
                    'default' => $registry->call($interface . '/getDefaultShare'),
                );
            } catch (Horde_Exception_PushApp $e) {
                // Not permitted for this user: absent, as from listApps.
            }
        }

        return $out;
    }

    /**
     * The highest modification sequence of each collection.
     *
     * Reads Horde's history directly instead of calling each application's
     * `getHighestModSeq($id)` through the registry: those do nothing else,
     * and pushing an application (its init, prefs and config) is most of the
     * cost of such a call. Like them it checks no permission; it only reveals
     * a counter. A parent is `<app>:<collection id>` with app one of turba,
     * kronolith, nag, mnemo; anything else is refused, and so is an empty
     * collection id or one with `%` or control characters (Horde's own query
     * puts the id into an SQL LIKE pattern, where `%` would widen it). Other
     * characters are allowed: share ids of Horde installs upgraded from
     * Horde 3 are user names, which may contain almost anything.
     *
     * @param array $parents  List of `<app>:<collection id>` strings.
     *
     * @return array  parent => modseq (integer; 0 when nothing was recorded).
     * @throws Horde_Exception  A parent is invalid or the history is unreadable.
     */
    public function highestModSeqs($parents)
    {
        if (!is_array($parents) || count($parents) > self::MAX_PARENTS) {
            throw new Horde_Exception(sprintf(
                'highestModSeqs takes a list of at most %d parents',
                self::MAX_PARENTS
            ));
        }
        $prefixes = implode('|', self::$_interfaces);
        foreach ($parents as $parent) {
            if (!is_string($parent) ||
                !preg_match('/^(' . $prefixes . '):[^%\x00-\x1f\x7f]+$/D', $parent)) {
                throw new Horde_Exception(sprintf(
                    'Invalid parent %s: expected <%s>:<collection id>',
                    json_encode($parent),
                    $prefixes
                ));
            }
        }

        $history = $GLOBALS['injector']->getInstance('Horde_History');
        $sqlite = $this->_sqliteHistory($history);
        $out = array();
        foreach ($parents as $parent) {
            try {
                $out[$parent] = (int)($sqlite
                    ? $this->_highestModSeq($sqlite, $parent)
                    : $history->getHighestModSeq($parent));
            } catch (Horde_Exception $e) {
                throw new Horde_Exception($e);
            }
        }

        return $out;
    }

    /**
     * The SQLite database of Horde's history, or null when the history lives
     * elsewhere (then Horde_History::getHighestModSeq() answers).
     *
     * Horde_History_Sql finds a collection's highest modseq with
     * `object_uid LIKE '<parent>:%' ORDER BY history_modseq DESC LIMIT 1`.
     * SQLite cannot use an index for that LIKE (it is case-insensitive), so it
     * walks the modseq index back from the newest change of the whole Horde
     * until it meets one of the collection: for a quiet address book on a
     * busy Horde, most of the table, on every change check. MySQL uses its
     * object_uid index for a prefix LIKE; PostgreSQL's collations make a
     * range query unsafe, so both keep Horde's own query.
     *
     * @param Horde_History $history  The history instance.
     *
     * @return Horde_Db_Adapter_Pdo_Sqlite|null
     */
    protected function _sqliteHistory($history)
    {
        global $conf, $injector;

        // Horde_Core_Factory_History's choice: the 'sql' driver (the
        // default) on the adapter below, or Horde_History_Null if that
        // failed; anything but the null history comes wrapped in
        // Horde_Core_History.
        if ($history instanceof Horde_History_Null ||
            (!empty($conf['history']['driver']) &&
             Horde_String::lower($conf['history']['driver']) != 'sql')) {
            return null;
        }
        $db = $injector->getInstance('Horde_Core_Factory_Db')->create('horde', 'history');

        return ($db instanceof Horde_Db_Adapter_Pdo_Sqlite) ? $db : null;
    }

    /**
     * Horde_History_Sql::getHighestModSeq($parent) as an indexed range query:
     * the history entries of a collection are the object_uids that start with
     * `<parent>:`, i.e. lie in [`<parent>:`, `<parent>;`) in SQLite's binary
     * text order (`;` follows `:`). With none, the same fallback as Horde:
     * the highest modseq handed out at all, or false.
     *
     * @param Horde_Db_Adapter_Pdo_Sqlite $db  The history database.
     * @param string $parent                   A validated `<app>:<id>`.
     *
     * @return integer|boolean  The modseq, false when there is none.
     * @throws Horde_Db_Exception
     */
    protected function _highestModSeq($db, $parent)
    {
        $modseq = $db->selectValue(
            'SELECT MAX(history_modseq) FROM horde_histories WHERE object_uid >= ? AND object_uid < ?',
            array($parent . ':', $parent . ';')
        );
        if (is_null($modseq) || $modseq === false) {
            $modseq = $db->selectValue('SELECT MAX(history_modseq) FROM horde_histories_modseq');
            return empty($modseq) ? false : $modseq;
        }

        return $modseq;
    }
}
